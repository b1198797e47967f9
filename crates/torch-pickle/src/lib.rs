//! # torch-pickle
//!
//! Reads `torch.save` files — state_dicts, training checkpoints, whole pickled `nn.Module`
//! trees — **without executing anything** and without libtorch or Python.
//!
//! - [`zip`]: the stored-only zip archives torch.save writes (bounds- and CRC-checked).
//! - [`pickle`]: a restricted unpickler. Globals are never imported or called: the few that
//!   torch.save uses are interpreted, every other one (`os.system` included) becomes an inert
//!   named object recorded as data.
//! - [`archive`]: `data.pkl`, storages, byte order.
//! - [`walk`]: module trees, state_dicts, finding the weights in a checkpoint.
//! - [`tensor`]: tensor records as plain data, checked against their storages.
//!
//! ```no_run
//! let bytes = std::fs::read("best.pt").unwrap();
//! let archive = torch_pickle::Archive::open(&bytes).unwrap();
//! let (root, _) = torch_pickle::walk::find_root(&archive.pickle, Default::default()).unwrap();
//! if let torch_pickle::walk::Root::Module(m) = root {
//!     let sppf = m.descend("model.9").unwrap();
//!     for (name, t) in sppf.state_dict().unwrap() {
//!         let bytes = archive.tensor_storage(&t).unwrap();
//!         println!("{name} {:?} {} ({} bytes)", t.shape, t.storage.dtype.name(), bytes.len());
//!     }
//! }
//! ```

#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod archive;
pub mod craft;
pub mod error;
pub mod pickle;
pub mod safety;
pub mod tensor;
pub mod walk;
pub mod zip;

pub use archive::{Archive, ByteOrder};
pub use error::{Error, Result};
pub use pickle::{parse, Node, NodeId, Pickle, Use, Value};
pub use tensor::{DType, StorageRef, TensorRef};
