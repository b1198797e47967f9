//! Building pickles and torch.save archives opcode by opcode: for tests (valid and hostile
//! files) and fuzz seeds.

use crate::zip::write_stored;

/// A pickle being written (protocol 2 opcodes unless stated).
#[derive(Debug, Default, Clone)]
pub struct Pk(pub Vec<u8>);

impl Pk {
    /// `PROTO 2`.
    pub fn new() -> Self {
        Pk(vec![0x80, 2])
    }
    /// Raw bytes.
    pub fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    /// `BINUNICODE s`.
    pub fn str(self, s: &str) -> Self {
        let n = (s.len() as u32).to_le_bytes();
        self.raw(b"X").raw(&n).raw(s.as_bytes())
    }
    /// `BININT`.
    pub fn int(self, v: i32) -> Self {
        self.raw(b"J").raw(&v.to_le_bytes())
    }
    /// `LONG1` (any i64).
    pub fn long(self, v: i64) -> Self {
        self.raw(&[0x8a, 8]).raw(&v.to_le_bytes())
    }
    /// `GLOBAL module name`.
    pub fn global(self, module: &str, name: &str) -> Self {
        self.raw(b"c")
            .raw(module.as_bytes())
            .raw(b"\n")
            .raw(name.as_bytes())
            .raw(b"\n")
    }
    /// `MARK`.
    pub fn mark(self) -> Self {
        self.raw(b"(")
    }
    /// `TUPLE` (to the last MARK).
    pub fn tuple(self) -> Self {
        self.raw(b"t")
    }
    /// `REDUCE`.
    pub fn reduce(self) -> Self {
        self.raw(b"R")
    }
    /// `EMPTY_DICT`.
    pub fn dict(self) -> Self {
        self.raw(b"}")
    }
    /// `SETITEM`.
    pub fn setitem(self) -> Self {
        self.raw(b"s")
    }
    /// `STOP`.
    pub fn stop(self) -> Self {
        self.raw(b".")
    }
    /// A tuple of integers (`MARK ints TUPLE`).
    pub fn ints(self, v: &[i64]) -> Self {
        v.iter().fold(self.mark(), |p, &x| p.long(x)).tuple()
    }
    /// `_rebuild_tensor_v2(storage('key', FloatStorage, numel), offset, shape, stride, False, OrderedDict())`.
    pub fn tensor(
        self,
        storage_type: &str,
        key: &str,
        numel: i64,
        offset: i64,
        shape: &[i64],
        stride: &[i64],
    ) -> Self {
        self.global("torch._utils", "_rebuild_tensor_v2")
            .mark()
            .mark()
            .str("storage")
            .global("torch", storage_type)
            .str(key)
            .str("cpu")
            .long(numel)
            .tuple()
            .raw(b"Q")
            .long(offset)
            .ints(shape)
            .ints(stride)
            .raw(&[0x89])
            .global("collections", "OrderedDict")
            .mark()
            .tuple()
            .reduce()
            .tuple()
            .reduce()
    }
}

/// A torch.save archive named `archive` holding `pickle` and `(key, bytes)` storages.
pub fn torch_file(pickle: &[u8], storages: &[(&str, &[u8])]) -> Vec<u8> {
    let names: Vec<String> = storages
        .iter()
        .map(|(k, _)| format!("archive/data/{k}"))
        .collect();
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("archive/data.pkl", pickle),
        ("archive/byteorder", b"little"),
    ];
    entries.extend(
        names
            .iter()
            .zip(storages)
            .map(|(n, (_, b))| (n.as_str(), *b)),
    );
    entries.push(("archive/version", b"3\n"));
    write_stored(&entries)
}

/// The canonical small valid file: `{"w": float32 tensor [[1, 2], [3, 4]]}`.
pub fn small_state_dict() -> Vec<u8> {
    let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let pk = Pk::new()
        .dict()
        .str("w")
        .tensor("FloatStorage", "0", 4, 0, &[2, 2], &[2, 1])
        .setitem()
        .stop();
    torch_file(&pk.0, &[("0", &data)])
}
