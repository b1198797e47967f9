//! Building pickles and torch.save archives opcode by opcode: for tests (valid and hostile
//! files) and fuzz seeds.

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

/// Write entries as a stored (uncompressed) zip archive, the layout torch.save uses. For tests,
/// fuzz seeds and tools; no zip64.
pub fn write_stored(entries: &[(&str, &[u8])]) -> Vec<u8> {
    const LOCAL: u32 = 0x0403_4b50;
    const CENTRAL: u32 = 0x0201_4b50;
    const EOCD: u32 = 0x0605_4b50;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        let header = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend(20u16.to_le_bytes()); // version made by
            }
            h.extend(20u16.to_le_bytes()); // version needed
            h.extend([0u8; 4]); // flags, method = stored
            h.extend([0u8; 4]); // time, date
            h.extend(crc.to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((data.len() as u32).to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra
            if central {
                h.extend([0u8; 6]); // comment length, disk, internal attrs
                h.extend([0u8; 4]); // external attrs
                h.extend(offset.to_le_bytes());
            }
            h.extend(name.as_bytes());
            h
        };
        out.extend(header(LOCAL, false));
        out.extend_from_slice(data);
        central.extend(header(CENTRAL, true));
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(EOCD.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}
