//! Archives two readers could read differently are refused; expansion, nesting and shared
//! module trees are bounded; globals are flagged by allow-list, wherever they sit.

use torch_pickle::craft::{small_state_dict, torch_file, write_stored, Pk};
use torch_pickle::safety::flagged_globals;
use torch_pickle::walk::{find_root, Root, Source};
use torch_pickle::{parse, Archive, Error, Use};

fn open_err(bytes: &[u8]) -> Error {
    Archive::open(bytes).expect_err("refused")
}

const PKL: &[u8] = b"\x80\x02}q\x00.";

#[test]
fn ambiguous_archives_are_refused() {
    // Two entries with one name: which one a reader takes depends on the reader.
    let dup = write_stored(&[("a/data.pkl", PKL), ("a/data.pkl", PKL)]);
    assert!(matches!(open_err(&dup), Error::Ambiguous(m) if m.contains("two entries named")));
    // A second data.pkl elsewhere, or a file like `xdata.pkl` a suffix match would take.
    let two_roots = write_stored(&[("a/data.pkl", PKL), ("b/data.pkl", PKL)]);
    assert!(matches!(open_err(&two_roots), Error::Ambiguous(m) if m.contains("2 data.pkl")));
    let suffix = write_stored(&[("a/xdata.pkl", PKL), ("a/data.pkl", PKL)]);
    assert!(
        Archive::open(&suffix).is_ok(),
        "only a/data.pkl is the pickle"
    );
    let no_folder = write_stored(&[("data.pkl", PKL)]);
    assert!(open_err(&no_folder)
        .to_string()
        .contains("without data.pkl"));
    let outside = write_stored(&[("a/data.pkl", PKL), ("b/data/0", b"1234")]);
    assert!(matches!(open_err(&outside), Error::Ambiguous(m) if m.contains("outside")));
    // Bytes after the end record (a second archive appended).
    let mut trailing = small_state_dict();
    trailing.extend(small_state_dict());
    assert!(open_err(&trailing)
        .to_string()
        .contains("does not end at the end record"));
    // A local header naming another file than the central directory.
    let mut renamed = small_state_dict();
    let at = renamed
        .windows(16)
        .position(|w| w == b"archive/data.pkl")
        .unwrap();
    renamed[at + 8] = b'D'; // the local header's copy (first occurrence)
    assert!(matches!(open_err(&renamed), Error::Ambiguous(m) if m.contains("another name")));
    // Two central records pointing at the same data.
    let z = write_stored(&[("a/data.pkl", PKL), ("a/data/0", b"abcd")]);
    let central: Vec<usize> = z
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == [0x50, 0x4b, 0x01, 0x02])
        .map(|(i, _)| i)
        .collect();
    let mut overlap = z.clone();
    let first_offset = z[central[0] + 42..central[0] + 46].to_vec();
    overlap[central[1] + 42..central[1] + 46].copy_from_slice(&first_offset);
    assert!(Archive::open(&overlap).is_err());
}

#[test]
fn nested_rebuilds_do_not_recurse() {
    // 30 000 nested _rebuild_from_type_v2(_rebuild_from_type_v2, type, (…)) calls.
    let n = 30_000;
    let mut pk = Pk::new();
    for _ in 0..n {
        pk = pk
            .global("torch._tensor", "_rebuild_from_type_v2")
            .mark()
            .global("torch._tensor", "_rebuild_from_type_v2")
            .global("torch", "Tensor")
            .mark();
    }
    pk = pk.global("builtins", "tuple").mark().mark().tuple().tuple();
    for _ in 0..n {
        pk = pk.tuple().tuple().reduce();
    }
    let p = parse(&pk.stop().0);
    assert!(p.is_ok() || matches!(p, Err(Error::Pickle(..) | Error::Limit(_))));
}

#[test]
fn billion_laughs_hit_the_work_budget() {
    // A memoised 100 000-element list handed to `tuple()` 100 000 times: 10¹⁰ copies.
    let mut pk = Pk::new().raw(b"(");
    pk = pk
        .raw(&b"N".repeat(100_000))
        .raw(b"l")
        .raw(b"q\x00")
        .raw(b"0");
    for _ in 0..100_000 {
        pk = pk
            .global("builtins", "tuple")
            .raw(b"h\x00\x85")
            .reduce()
            .raw(b"0");
    }
    let e = parse(&pk.raw(b"N").stop().0).unwrap_err();
    assert!(
        matches!(e, Error::Limit(ref m) if m.contains("billion laughs")),
        "{e}"
    );
}

#[test]
fn shared_module_trees_are_bounded() {
    // 40 levels, each module's two children being the same module: 2⁴⁰ paths.
    let mut pk = Pk::new();
    for level in 0..40u8 {
        pk = pk
            .global("m", "M")
            .raw(b")")
            .raw(&[0x81])
            .dict()
            .str("_modules")
            .dict();
        if level > 0 {
            pk = pk.str("a").raw(&[b'h', level - 1]).setitem();
            pk = pk.str("b").raw(&[b'h', level - 1]).setitem();
        }
        pk = pk.setitem().raw(b"b").raw(&[b'q', level]);
    }
    let p = parse(&pk.stop().0).unwrap();
    let (Root::Module(m), _) = find_root(&p, Source::Model).unwrap() else {
        panic!("a module")
    };
    let t = std::time::Instant::now();
    assert!(matches!(m.state_dict(), Err(Error::Limit(_))));
    let _ = m.find(&["X"]);
    assert!(t.elapsed().as_secs() < 5);
}

#[test]
fn globals_are_flagged_by_allow_list() {
    let call = |m: &str, n: &str| {
        Pk::new()
            .dict()
            .str("x")
            .global(m, n)
            .mark()
            .str("arg")
            .tuple()
            .reduce()
            .setitem()
            .stop()
    };
    for (m, n) in [
        ("timeit", "timeit"),
        ("cProfile", "run"),
        ("uuid", "_get_command_stdout"),
        ("_pickle", "loads"),
        ("io", "open"),
        ("numpy.testing._private.utils", "runstring"),
        ("ultralytics.utils.checks", "check_requirements"),
        ("torch.nn.modules.conv", "Conv2d"),
    ] {
        let p = parse(&call(m, n).0).unwrap();
        let f = flagged_globals(&p, &[]);
        assert_eq!(f.len(), 1, "{m}.{n}: {f:?}");
        assert_eq!(f[0].uses, vec![Use::Called]);
    }
    // Allowed: torch's own list, a module class instantiated (NEWOBJ), OrderedDict.
    let fine = Pk::new()
        .global("collections", "OrderedDict")
        .raw(b")")
        .reduce()
        .global("ultralytics.nn.modules.block", "SPPF")
        .raw(b")")
        .raw(&[0x81])
        .raw(b"0")
        .stop();
    assert_eq!(flagged_globals(&parse(&fine.0).unwrap(), &[]), vec![]);
    // Merely named, outside the allow-list: importing it can run code.
    let named = Pk::new().global("antigravity", "x").stop();
    let f = flagged_globals(&parse(&named.0).unwrap(), &[]);
    assert_eq!(
        (f[0].name.as_str(), f[0].uses.clone()),
        ("antigravity.x", vec![Use::Named])
    );
    // Escaped text opcodes are decoded as Python decodes them; dotted names are attribute paths.
    let escaped = Pk::new()
        .raw(b"Vos\n")
        .raw(b"Vsys\\u0074em\n")
        .raw(&[0x93])
        .raw(b"S'x'\n")
        .raw(&[0x85])
        .reduce()
        .stop();
    let f = flagged_globals(&parse(&escaped.0).unwrap(), &[]);
    assert_eq!(f[0].name, "os.system");
    let dotted = Pk::new()
        .str("torch.nn.modules.conv")
        .str("F.os.system")
        .raw(&[0x93])
        .raw(b")")
        .raw(&[0x81])
        .stop();
    let f = flagged_globals(&parse(&dotted.0).unwrap(), &[]);
    assert_eq!(f[0].name, "torch.nn.modules.conv.F.os.system");
    // Protocol-2 names are read as Python 3 reads them.
    let old = call("__builtin__", "eval");
    assert_eq!(
        flagged_globals(&parse(&old.0).unwrap(), &[])[0].name,
        "builtins.eval"
    );
    assert!(torch_file(&old.0, &[]).len() > 100);
}

/// `getattr(<module class>, "forward")` (the official 8.0–8.2 checkpoints) and 8.0's
/// `IterableSimpleNamespace` are data; every other getattr, and calling a getattr's result,
/// is flagged.
#[test]
fn getattr_of_a_module_forward_and_the_training_namespace_are_data() {
    let getattr = |m: &str, n: &str, attr: &str| {
        Pk::new()
            .global("builtins", "getattr")
            .mark()
            .global(m, n)
            .str(attr)
            .tuple()
            .reduce()
    };
    let flagged = |pk: Pk| -> Vec<String> {
        let p = parse(&pk.stop().0).unwrap();
        flagged_globals(&p, &["sppnet.Known"])
            .into_iter()
            .map(|f| f.name)
            .collect()
    };
    let none: Vec<String> = vec![];
    assert_eq!(
        flagged(getattr("ultralytics.nn.modules.head", "Detect", "forward")),
        none
    );
    assert_eq!(flagged(getattr("sppnet", "Known", "forward")), none);
    let refused = |pk: Pk| flagged(pk).contains(&"builtins.getattr".to_string());
    assert!(refused(getattr("os", "system", "forward")));
    assert!(refused(getattr(
        "ultralytics.nn.modules.head",
        "Detect",
        "__init__"
    )));
    assert!(refused(getattr(
        "ultralytics.nn.modules",
        "head.Detect",
        "forward"
    )));
    // The method looked up and then called: flagged.
    let called = getattr("ultralytics.nn.modules.head", "Detect", "forward")
        .mark()
        .str("x")
        .tuple()
        .reduce();
    assert!(refused(called));
    let ns = Pk::new()
        .global("ultralytics.utils", "IterableSimpleNamespace")
        .raw(b")")
        .reduce();
    assert_eq!(flagged(ns), none);
    // A classifier's pickled transforms: classes instantiated (NEWOBJ), the enum by value.
    let transforms = Pk::new()
        .global("torchvision.transforms.transforms", "Resize")
        .raw(b")")
        .raw(&[0x81])
        .global("torchvision.transforms.functional", "InterpolationMode")
        .mark()
        .str("bilinear")
        .tuple()
        .reduce();
    assert_eq!(flagged(transforms), none);
    // Called, a transform class would run its __init__: flagged.
    let called = Pk::new()
        .global("torchvision.transforms.transforms", "Resize")
        .mark()
        .int(3)
        .tuple()
        .reduce();
    assert_eq!(
        flagged(called),
        ["torchvision.transforms.transforms.Resize"]
    );
}
