//! The committed fuzz seeds (fuzz/seeds/) and any crash a fuzz run finds (add it to
//! fuzz/seeds/<target>/ and it is replayed here): each must read or fail cleanly.

use torch_pickle::walk::{find_root, Root, Source};

fn files(target: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn unpickle_seeds_parse_and_walk() {
    let seeds = files("unpickle");
    assert!(seeds.len() >= 5);
    for path in seeds {
        let p = torch_pickle::parse(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let _ = find_root(&p, Source::Model);
    }
}

#[test]
fn archive_seeds_open_and_every_tensor_reads() {
    let seeds = files("torch_archive");
    assert!(seeds.len() >= 3);
    for path in seeds {
        let bytes = std::fs::read(&path).unwrap();
        let hostile = path.to_string_lossy().contains("hostile-");
        let a = match torch_pickle::Archive::open(&bytes) {
            Ok(a) => a,
            // Seeds from the hostile suite are refused (ambiguous archives); the rest open.
            Err(e) if hostile => {
                assert!(!e.to_string().contains('\n'), "{e}");
                continue;
            }
            Err(e) => panic!("{}: {e}", path.display()),
        };
        if let Ok((root, _)) = find_root(&a.pickle, Source::Model) {
            let records = match root {
                Root::Module(m) => match m.state_dict() {
                    Ok(sd) => sd,
                    Err(e) if hostile => {
                        assert!(!e.to_string().contains('\n'), "{e}");
                        continue;
                    }
                    Err(e) => panic!("{}: {e}", path.display()),
                },
                Root::StateDict(sd) => sd,
            };
            for (name, t) in records {
                a.tensor_storage(&t)
                    .unwrap_or_else(|e| panic!("{} {name}: {e}", path.display()));
            }
        }
    }
}
