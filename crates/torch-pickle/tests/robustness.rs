//! Hostile and broken inputs: each a clean one-line error (or inert data), never a panic, never
//! an allocation beyond the input's size, and never a call of anything the file names.

use torch_pickle::craft::{small_state_dict, torch_file, Pk};
use torch_pickle::walk::{find_root, Root, Source};
use torch_pickle::{parse, Archive, DType, Error, Node};

fn open_err(bytes: &[u8]) -> String {
    let e = Archive::open(bytes).expect_err("an error").to_string();
    assert!(!e.contains('\n'), "one line: {e}");
    e
}

fn tensor_err(bytes: &[u8]) -> String {
    let a = Archive::open(bytes).expect("archive opens");
    let (root, _) = find_root(&a.pickle, Source::Model).expect("root");
    let Root::StateDict(sd) = root else {
        panic!("a state_dict")
    };
    a.tensor_storage(&sd[0].1)
        .expect_err("an error")
        .to_string()
}

#[test]
fn the_small_file_reads() {
    let bytes = small_state_dict();
    let a = Archive::open(&bytes).unwrap();
    let (Root::StateDict(sd), key) = find_root(&a.pickle, Source::Model).unwrap() else {
        panic!()
    };
    assert_eq!((sd.len(), sd[0].0.as_str(), key.as_str()), (1, "w", ""));
    let t = &sd[0].1;
    assert_eq!(
        (t.storage.dtype, t.shape.clone(), t.stride.clone()),
        (DType::F32, vec![2, 2], vec![2, 1])
    );
    assert_eq!(a.tensor_storage(t).unwrap().len(), 16);
}

#[test]
fn broken_archives_are_named() {
    let good = small_state_dict();
    assert!(open_err(&good[..good.len() - 7]).contains("corrupt zip"));
    assert!(
        open_err(&good[..40]).contains("not"),
        "{}",
        open_err(&good[..40])
    );
    assert!(open_err(b"").contains("not a torch.save file"));
    assert!(open_err(&[0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc]).contains("legacy torch.save format"));
    let no_pickle = torch_pickle::craft::write_stored(&[
        ("archive/model.pkl", b"\x80\x02N."),
        ("archive/data/0", b""),
    ]);
    assert!(open_err(&no_pickle).contains("without data.pkl"));
    let compressed = {
        let mut z = torch_pickle::craft::write_stored(&[("archive/data.pkl", b"\x80\x02N.")]);
        let central = z
            .windows(4)
            .rposition(|w| w == [0x50, 0x4b, 0x01, 0x02])
            .unwrap();
        z[central + 10] = 8; // method: deflate
        z
    };
    assert!(open_err(&compressed).contains("is compressed"));
    let ts = torch_pickle::craft::write_stored(&[
        ("m/data.pkl", b"\x80\x02N."),
        ("m/constants.pkl", b""),
    ]);
    assert!(open_err(&ts).contains("TorchScript"));
}

#[test]
fn bad_crc_is_caught_when_a_storage_is_read() {
    let mut bytes = small_state_dict();
    let needle: Vec<u8> = 3.0f32.to_le_bytes().to_vec();
    let at = bytes
        .windows(4)
        .position(|w| w == needle.as_slice())
        .unwrap();
    bytes[at] ^= 0x40;
    assert!(tensor_err(&bytes).contains("CRC-32"));
}

#[test]
fn storages_shorter_than_claimed_and_absurd_shapes_are_refused() {
    let data = [0u8; 16];
    let short = Pk::new()
        .dict()
        .str("w")
        .tensor("FloatStorage", "0", 100, 0, &[10, 10], &[10, 1])
        .setitem()
        .stop();
    assert!(tensor_err(&torch_file(&short.0, &[("0", &data)]))
        .contains("storage holds 16 bytes, its record claims 400"));
    let huge = Pk::new()
        .dict()
        .str("w")
        .tensor("FloatStorage", "0", 4, 0, &[1 << 40, 1 << 40], &[1, 1])
        .setitem()
        .stop();
    let e = tensor_err(&torch_file(&huge.0, &[("0", &data)]));
    assert!(
        e.contains("view reaches element") || e.contains("overflows"),
        "{e}"
    );
    let overflow = Pk::new()
        .dict()
        .str("w")
        .tensor("FloatStorage", "0", i64::MAX, 0, &[2], &[1])
        .setitem()
        .stop();
    assert!(tensor_err(&torch_file(&overflow.0, &[("0", &data)])).contains("overflows"));
    let past = Pk::new()
        .dict()
        .str("w")
        .tensor("FloatStorage", "0", 4, 3, &[2], &[1])
        .setitem()
        .stop();
    assert!(tensor_err(&torch_file(&past.0, &[("0", &data)])).contains("view reaches element 4"));
    let missing = Pk::new()
        .dict()
        .str("w")
        .tensor("FloatStorage", "9", 4, 0, &[2], &[1])
        .setitem()
        .stop();
    assert!(
        tensor_err(&torch_file(&missing.0, &[("0", &data)])).contains("missing from the archive")
    );
    let complex = Pk::new()
        .dict()
        .str("w")
        .tensor("ComplexFloatStorage", "0", 2, 0, &[2], &[1])
        .setitem()
        .stop();
    assert!(tensor_err(&torch_file(&complex.0, &[("0", &data)])).contains("not supported"));
}

#[test]
fn malformed_pickles_are_one_line_errors() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0x80, 2, 0xff], "unknown opcode 0xff"),
        (
            vec![0x80, 2, b'h', 7, b'.'],
            "memo reference 7 out of range",
        ),
        (vec![0x80, 2, b'.'], "stack underflow"),
        (vec![0x80, 2, b'a', b'.'], "stack underflow"),
        (vec![0x80, 2, b'N', b'e', b'.'], "no MARK"),
        (vec![0x80, 9], "unsupported pickle protocol"),
        (vec![0x80, 2, 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x40], "truncated"),
        (vec![0x80, 2, b'X', 0xff, 0xff, 0xff, 0x7f], "truncated"),
        (vec![0x80, 2, 0x82, 1], "refused"),
        (vec![0x80, 2, b'N', b'N', b'R', b'.'], ""),
        (vec![0x80, 2], "truncated"),
    ];
    for (bytes, needle) in cases {
        match parse(&bytes) {
            Err(Error::Pickle(msg, _)) => assert!(msg.contains(needle), "{bytes:?}: {msg}"),
            Ok(_) => assert!(needle.is_empty(), "{bytes:?} parsed"),
            Err(e) => panic!("{bytes:?}: {e}"),
        }
    }
}

#[test]
fn deep_nesting_and_cycles_terminate() {
    let mut deep = vec![0x80, 2];
    deep.extend(std::iter::repeat_n(b'(', 200_000));
    deep.extend(std::iter::repeat_n(b't', 200_000));
    deep.push(b'.');
    let p = parse(&deep).unwrap();
    assert_eq!(p.nodes.len(), 200_000);
    assert!(!p.describe(p.root.as_ref().unwrap()).is_empty());
    // A list that contains itself.
    let cyc = parse(&[0x80, 2, b']', b'q', 0, b'h', 0, b'a', b'.']).unwrap();
    let Some(Node::List(items)) = cyc.node_of(cyc.root.as_ref().unwrap()) else {
        panic!()
    };
    assert_eq!(items.len(), 1);
    // A module whose child is itself: state_dict walking stops at the depth limit.
    let module = Pk::new()
        .global("m", "M")
        .raw(b")")
        .raw(&[0x81])
        .raw(b"q\x00")
        .dict()
        .str("_modules")
        .dict()
        .str("child")
        .raw(b"h\x00")
        .setitem()
        .setitem()
        .raw(b"b")
        .stop();
    let p = parse(&module.0).unwrap();
    let (Root::Module(m), _) = find_root(&p, Source::Model).unwrap() else {
        panic!("a module")
    };
    assert!(m
        .state_dict()
        .unwrap_err()
        .to_string()
        .contains("deeper than"));
}

#[test]
fn dangerous_globals_are_inert_data() {
    let pk = Pk::new()
        .dict()
        .str("x")
        .global("posix", "system")
        .mark()
        .str("touch /tmp/never")
        .tuple()
        .reduce()
        .setitem()
        .stop();
    let p = parse(&pk.0).unwrap();
    let v = p.get(p.root.as_ref().unwrap(), "x").unwrap();
    let Some(Node::Object { class, args, .. }) = p.node_of(v) else {
        panic!()
    };
    assert_eq!(
        (class.0.as_str(), class.1.as_str(), args.len()),
        ("posix", "system", 1)
    );
    assert!(p.globals.contains(&("posix".into(), "system".into())));
    assert!(!std::path::Path::new("/tmp/never").exists());
}
