//! The zip reader, archive layout checks, the module-tree walk and tensor extraction on
//! arbitrary bytes: every storage a checkpoint names is read (bounds- and CRC-checked), the
//! module tree is walked as `inspect` and `port` walk it, and globals are classified.
#![no_main]

use libfuzzer_sys::fuzz_target;
use torch_pickle::safety::flagged_globals;
use torch_pickle::walk::{find_root, Root, Source};

fuzz_target!(|data: &[u8]| {
    let Ok(a) = torch_pickle::Archive::open(data) else { return };
    let _ = flagged_globals(&a.pickle, &["cnn_with_spp.SPP_NET"]);
    for source in [Source::Model, Source::Ema] {
        let records = match find_root(&a.pickle, source) {
            Ok((Root::Module(m), _)) => {
                let _ = m.find(&["SPPF", "SPP", "Conv"]);
                for (_, child) in m.children() {
                    let _ = child.state_dict();
                }
                m.state_dict().unwrap_or_default()
            }
            Ok((Root::StateDict(sd), _)) => sd,
            Err(_) => continue,
        };
        for (_, t) in records {
            if let Ok(bytes) = a.tensor_storage(&t) {
                assert!(bytes.len() as u64 <= t.storage.numel * t.storage.dtype.size() as u64);
            }
        }
    }
});
