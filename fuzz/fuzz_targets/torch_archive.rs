//! The zip reader, archive layout checks and tensor extraction on arbitrary bytes: every
//! storage a checkpoint names is read (bounds- and CRC-checked).
#![no_main]

use libfuzzer_sys::fuzz_target;
use torch_pickle::walk::{find_root, Root, Source};

fuzz_target!(|data: &[u8]| {
    let Ok(a) = torch_pickle::Archive::open(data) else { return };
    let records = match find_root(&a.pickle, Source::Model) {
        Ok((Root::Module(m), _)) => m.state_dict().unwrap_or_default(),
        Ok((Root::StateDict(sd), _)) => sd,
        Err(_) => return,
    };
    for (_, t) in records {
        if let Ok(bytes) = a.tensor_storage(&t) {
            assert!(bytes.len() as u64 >= t.storage.numel * t.storage.dtype.size() as u64);
        }
    }
});
