//! The restricted unpickler, the module-tree walks and the global classification on arbitrary
//! bytes: no panic, no hang, no allocation beyond the work budget (run with -malloc_limit_mb).
#![no_main]

use libfuzzer_sys::fuzz_target;
use torch_pickle::safety::flagged_globals;
use torch_pickle::walk::{find_root, Module, Root, Source};

/// Walk a module tree the way `inspect` does (bounded depth, every attribute described).
fn walk(p: &torch_pickle::Pickle, m: &Module<'_>, depth: usize, visits: &mut usize) {
    for (k, v) in m.attrs() {
        let _ = (k, p.describe(v));
    }
    if depth > 64 {
        return;
    }
    for (_, c) in m.children() {
        if torch_pickle::walk::visit(visits).is_err() {
            return;
        }
        walk(p, &c, depth + 1, visits);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(p) = torch_pickle::parse(data) else { return };
    if let Some(root) = &p.root {
        let _ = p.describe(root);
    }
    let _ = flagged_globals(&p, &[]);
    for source in [Source::Model, Source::Ema] {
        match find_root(&p, source) {
            Ok((Root::Module(m), _)) => {
                let _ = m.find(&["SPPF", "SPP"]);
                let _ = m.descend("model.9");
                walk(&p, &m, 0, &mut 0);
                if let Ok(sd) = m.state_dict() {
                    for (_, t) in sd {
                        let _ = t.check(1 << 20);
                    }
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
