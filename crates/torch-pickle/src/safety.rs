//! Which globals of a pickle would run code under `torch.load(weights_only=False)`: an
//! allow-list, not a deny-list. A global is *not* flagged when it is
//! - on PyTorch's own `weights_only` allow-list ([`TORCH_WEIGHTS_ONLY`], torch 2.13's
//!   `_get_allowed_globals`, checked against the live list by sppnet's parity tests);
//! - one of a few constructors of plain data that ultralytics and other trainers put in
//!   checkpoints ([`DATA_CONSTRUCTORS`]: `copyreg._reconstructor`, numpy arrays, `datetime`,
//!   `argparse.Namespace`, paths);
//! - or a module class: only ever named or instantiated without `__init__` (never called), in
//!   a namespace whose modules are `nn.Module` classes ([`MODULE_NAMESPACES`]) or in the
//!   caller's list of known classes;
//! - or `builtins.getattr`, when every call of it is `getattr(<module class>, "forward")` and no
//!   call result in the pickle is called in turn: how protocol 2 names a module class's method
//!   (the official ultralytics 8.0–8.2 checkpoints hold one). Any other `getattr` is flagged.
//!
//! Everything else is flagged, wherever it sits in the pickle: importing a module can run code,
//! and calling a global certainly does.

use std::collections::BTreeMap;

use crate::pickle::{Node, Pickle, Use, Value};

/// PyTorch 2.13's `torch._weights_only_unpickler._get_allowed_globals()` keys.
pub const TORCH_WEIGHTS_ONLY: &[&str] = &[
    "_codecs.encode",
    "builtins.bytearray",
    "builtins.complex",
    "builtins.set",
    "collections.Counter",
    "collections.OrderedDict",
    "torch.BFloat16Storage",
    "torch.BFloat16Tensor",
    "torch.BoolStorage",
    "torch.BoolTensor",
    "torch.ByteStorage",
    "torch.ByteTensor",
    "torch.CharStorage",
    "torch.CharTensor",
    "torch.ComplexDoubleStorage",
    "torch.ComplexFloatStorage",
    "torch.DoubleStorage",
    "torch.DoubleTensor",
    "torch.FloatStorage",
    "torch.FloatTensor",
    "torch.HalfStorage",
    "torch.HalfTensor",
    "torch.IntStorage",
    "torch.IntTensor",
    "torch.LongStorage",
    "torch.LongTensor",
    "torch.QInt32Storage",
    "torch.QInt8Storage",
    "torch.QUInt2x4Storage",
    "torch.QUInt4x2Storage",
    "torch.QUInt8Storage",
    "torch.ShortStorage",
    "torch.ShortTensor",
    "torch.Size",
    "torch.Tensor",
    "torch._tensor._rebuild_from_type_v2",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_wrapper_subclass",
    "torch.bfloat16",
    "torch.bits16",
    "torch.bits1x8",
    "torch.bits2x4",
    "torch.bits4x2",
    "torch.bits8",
    "torch.bool",
    "torch.complex128",
    "torch.complex32",
    "torch.complex64",
    "torch.cuda.BFloat16Storage",
    "torch.cuda.BFloat16Tensor",
    "torch.cuda.BoolStorage",
    "torch.cuda.BoolTensor",
    "torch.cuda.ByteStorage",
    "torch.cuda.ByteTensor",
    "torch.cuda.CharStorage",
    "torch.cuda.CharTensor",
    "torch.cuda.ComplexDoubleStorage",
    "torch.cuda.ComplexFloatStorage",
    "torch.cuda.DoubleStorage",
    "torch.cuda.DoubleTensor",
    "torch.cuda.FloatStorage",
    "torch.cuda.FloatTensor",
    "torch.cuda.HalfStorage",
    "torch.cuda.HalfTensor",
    "torch.cuda.IntStorage",
    "torch.cuda.IntTensor",
    "torch.cuda.LongStorage",
    "torch.cuda.LongTensor",
    "torch.cuda.ShortStorage",
    "torch.cuda.ShortTensor",
    "torch.cuda.sparse.BFloat16Tensor",
    "torch.cuda.sparse.ByteTensor",
    "torch.cuda.sparse.CharTensor",
    "torch.cuda.sparse.DoubleTensor",
    "torch.cuda.sparse.FloatTensor",
    "torch.cuda.sparse.HalfTensor",
    "torch.cuda.sparse.IntTensor",
    "torch.cuda.sparse.LongTensor",
    "torch.cuda.sparse.ShortTensor",
    "torch.device",
    "torch.float16",
    "torch.float32",
    "torch.float4_e2m1fn_x2",
    "torch.float64",
    "torch.float8_e4m3fn",
    "torch.float8_e4m3fnuz",
    "torch.float8_e5m2",
    "torch.float8_e5m2fnuz",
    "torch.float8_e8m0fnu",
    "torch.int1",
    "torch.int16",
    "torch.int2",
    "torch.int3",
    "torch.int32",
    "torch.int4",
    "torch.int5",
    "torch.int6",
    "torch.int64",
    "torch.int7",
    "torch.int8",
    "torch.nn.parameter.Parameter",
    "torch.per_channel_affine",
    "torch.per_channel_affine_float_qparams",
    "torch.per_channel_symmetric",
    "torch.per_tensor_affine",
    "torch.per_tensor_symmetric",
    "torch.qint32",
    "torch.qint8",
    "torch.quint2x4",
    "torch.quint4x2",
    "torch.quint8",
    "torch.serialization._get_layout",
    "torch.sparse.BFloat16Tensor",
    "torch.sparse.ByteTensor",
    "torch.sparse.CharTensor",
    "torch.sparse.DoubleTensor",
    "torch.sparse.FloatTensor",
    "torch.sparse.HalfTensor",
    "torch.sparse.IntTensor",
    "torch.sparse.LongTensor",
    "torch.sparse.ShortTensor",
    "torch.storage.TypedStorage",
    "torch.storage.UntypedStorage",
    "torch.uint1",
    "torch.uint16",
    "torch.uint2",
    "torch.uint3",
    "torch.uint32",
    "torch.uint4",
    "torch.uint5",
    "torch.uint6",
    "torch.uint64",
    "torch.uint7",
    "torch.uint8",
];

/// Constructors of plain data (no code beyond building the value) seen in real checkpoints.
pub const DATA_CONSTRUCTORS: &[&str] = &[
    "copyreg._reconstructor",
    "builtins.object",
    "builtins.frozenset",
    "builtins.tuple",
    "builtins.list",
    "builtins.dict",
    "builtins.slice",
    "builtins.range",
    "datetime.datetime",
    "datetime.date",
    "datetime.time",
    "datetime.timedelta",
    "datetime.timezone",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.ndarray",
    "numpy.dtype",
    "argparse.Namespace",
    "types.SimpleNamespace",
    // ultralytics 8.0's training arguments (`train_args`): a SimpleNamespace subclass.
    "ultralytics.utils.IterableSimpleNamespace",
    // The enum classifiers' pickled transforms name (`InterpolationMode("bilinear")`).
    "torchvision.transforms.functional.InterpolationMode",
    "pathlib.Path",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
];

/// Namespaces of `nn.Module` classes (and the plain data classes trainers attach to models).
/// (`torchvision.transforms.transforms.`: the `Compose`, `Resize`, `CenterCrop`, `ToTensor`,
/// `Normalize` … that classification checkpoints pickle, instantiated without `__init__`.)
pub const MODULE_NAMESPACES: &[&str] = &[
    "torch.nn.modules.",
    "ultralytics.",
    "torchvision.transforms.transforms.",
];

/// A global that `torch.load(weights_only=False)` would import or call, and how it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flagged {
    /// `module.name`.
    pub name: String,
    /// How the pickle uses it (named only, called, instantiated).
    pub uses: Vec<Use>,
}

/// Every global of `p` outside the allow-list, sorted by name; `known_classes` are qualified
/// class names the caller trusts as module classes (never when they are called).
pub fn flagged_globals(p: &Pickle, known_classes: &[&str]) -> Vec<Flagged> {
    let mut uses: BTreeMap<(&str, &str), Vec<Use>> = BTreeMap::new();
    for (m, n) in &p.globals {
        uses.entry((m, n)).or_default();
    }
    for (m, n, how) in &p.uses {
        let u = uses.entry((m, n)).or_default();
        if !u.contains(how) {
            u.push(*how);
        }
    }
    uses.into_iter()
        .filter_map(|((module, name), mut how)| {
            let full = format!("{module}.{name}");
            let allowed = TORCH_WEIGHTS_ONLY.contains(&full.as_str())
                || DATA_CONSTRUCTORS.contains(&full.as_str())
                || (full == "builtins.getattr" && getattr_names_forward_only(p, known_classes));
            // A dotted attribute path after the module (protocol 4 resolves `torch` +
            // `os.system` by getattr) is never a class name.
            let class_like = !how.contains(&Use::Called)
                && !name.contains('.')
                && (MODULE_NAMESPACES.iter().any(|ns| full.starts_with(ns))
                    || known_classes.contains(&full.as_str()));
            if allowed || class_like {
                return None;
            }
            if how.is_empty() {
                how.push(Use::Named);
            }
            how.sort();
            Some(Flagged {
                name: full,
                uses: how,
            })
        })
        .collect()
}

/// Whether `full` names a module class (see the module documentation).
fn module_class(full: &str, known_classes: &[&str]) -> bool {
    let name = full.rsplit('.').next().unwrap_or("");
    !name.is_empty()
        && (MODULE_NAMESPACES.iter().any(|ns| full.starts_with(ns))
            || known_classes.contains(&full))
}

/// Every `getattr` call is `getattr(<module class>, "forward")`, and nothing in the pickle calls
/// the result of a call (an object whose callable was not a global).
fn getattr_names_forward_only(p: &Pickle, known_classes: &[&str]) -> bool {
    p.nodes.iter().all(|node| match node {
        Node::Object { class, args, .. } if class.0 == "builtins" && class.1 == "getattr" => {
            match args.as_slice() {
                [cls, Value::Str(attr)] if &**attr == "forward" => match p.node_of(cls) {
                    Some(Node::Global(m, n)) => {
                        !n.contains('.') && module_class(&format!("{m}.{n}"), known_classes)
                    }
                    _ => false,
                },
                _ => false,
            }
        }
        Node::Object { class, .. } => class.0 != "?",
        _ => true,
    })
}
