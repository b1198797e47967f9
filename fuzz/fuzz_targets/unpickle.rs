//! The restricted unpickler and the tree walker on arbitrary bytes: no panic, no hang, no
//! allocation beyond the input (run with -malloc_limit_mb).
#![no_main]

use libfuzzer_sys::fuzz_target;
use torch_pickle::walk::{find_root, Root, Source};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = torch_pickle::parse(data) else { return };
    if let Some(root) = &p.root {
        let _ = p.describe(root);
    }
    for source in [Source::Model, Source::Ema] {
        match find_root(&p, source) {
            Ok((Root::Module(m), _)) => {
                let _ = m.find(&["SPPF", "SPP"]);
                let _ = m.descend("model.9");
                if let Ok(sd) = m.state_dict() {
                    for (_, t) in sd {
                        let _ = t.check(1 << 20);
                    }
                }
                for (k, v) in m.attrs() {
                    let _ = (k, p.describe(v));
                }
            }
            Ok((Root::StateDict(sd), _)) => {
                for (_, t) in sd {
                    let _ = (t.numel(), t.check(4096));
                }
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
