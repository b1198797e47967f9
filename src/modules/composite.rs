//! Classes made of other modules, declared once: `composite!` writes a class's config (its
//! children as `Child`ren under upstream's field names, plus the scalar attributes it reads),
//! its struct, `Module` (`forward_t` from the class's own body; `in_channels` and `fusable`
//! from its children) and `Block` (built child by child in `s.sub(field)`, read from a pickle
//! child by child, fused child by child).
//!
//! A class file then holds only what is particular to the class: its names, its fields and its
//! forward (see `ultralytics/c2f.rs`).

use std::fmt::Debug;

use crate::modules::{Fuse, Module, Notes, Pickled};

/// An attribute type a pickled module can hold.
pub trait Attr: Sized + Debug + Clone {
    /// The attribute `name` of `m`, when present and of this type.
    fn read(m: &Pickled<'_>, name: &str) -> Option<Self>;
}

impl Attr for bool {
    fn read(m: &Pickled<'_>, name: &str) -> Option<Self> {
        m.bool(name)
    }
}
impl Attr for i64 {
    fn read(m: &Pickled<'_>, name: &str) -> Option<Self> {
        match m.ints(name) {
            Some(_) => None,
            None => m.int(name),
        }
    }
}
impl Attr for f64 {
    fn read(m: &Pickled<'_>, name: &str) -> Option<Self> {
        m.float(name)
    }
}
impl Attr for Vec<i64> {
    fn read(m: &Pickled<'_>, name: &str) -> Option<Self> {
        m.ints(name)
    }
}

/// Attribute `name` of `m`, or `default` with a note (an older pickle without it: upstream's
/// own default, as its `getattr` fallbacks do).
pub fn attr_or<T: Attr>(m: &Pickled<'_>, name: &str, default: T, notes: &mut Notes) -> T {
    T::read(m, name).unwrap_or_else(|| {
        notes.push(format!(
            "{} has no `{name}`: {default:?}, upstream's default",
            m.class()
        ));
        default
    })
}

/// What a class's first child says about its input channels.
pub trait Input {
    /// The input channels, where fixed.
    fn input(&self) -> Option<i64>;
}
impl Input for Box<dyn Module> {
    fn input(&self) -> Option<i64> {
        self.in_channels()
    }
}
impl Input for Vec<Box<dyn Module>> {
    fn input(&self) -> Option<i64> {
        self.first().and_then(|m| m.in_channels())
    }
}

/// The fusable units of one child, under `name.`.
pub fn child_fusable<'a>(name: &str, m: &'a dyn Module) -> Vec<(String, &'a dyn Fuse)> {
    m.fusable()
        .into_iter()
        .map(|(p, f)| (format!("{name}.{p}"), f))
        .collect()
}

/// Module references of a list, for the forward patterns.
pub fn refs(list: &[Box<dyn Module>]) -> Vec<&dyn Module> {
    list.iter().map(|m| m.as_ref()).collect()
}

/// Declares a class made of children; see the module documentation. Syntax:
///
/// ```text
/// composite! {
///     /// docs
///     C2f, C2fConfig, "c2f", ["ultralytics.nn.modules.block.C2f"],
///     one { cv1, cv2 }, list { m }, attrs { },
///     input = cv1,
///     check(c) { Ok(()) },
///     forward(self, x, train) { … },
///     init(a) { … }   // optional: the config from constructor arguments (`__init__`)
/// }
/// ```
macro_rules! composite {
    (
        $(#[$doc:meta])*
        $ty:ident, $cfg:ident, $name:literal, [$($class:literal),+ $(,)?],
        one { $($one:ident),* $(,)? },
        list { $($list:ident),* $(,)? },
        attrs { $($attr:ident : $aty:ty = $adef:expr),* $(,)? },
        input = $input:ident $(* $mul:literal)?,
        check($c:ident) $check:block,
        forward($s:ident, $x:ident, $train:ident) $body:block
        $(, init($a:ident) $init:block)? $(,)?
    ) => {
        #[doc = concat!("Config of [`", stringify!($ty), "`]: its children and attributes, under upstream's names.")]
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $cfg {
            $(#[doc = concat!("Child `", stringify!($one), "`.")] pub $one: $crate::modules::Child,)*
            $(#[doc = concat!("Children `", stringify!($list), ".<i>`.")] pub $list: Vec<$crate::modules::Child>,)*
            $(#[doc = concat!("Attribute `", stringify!($attr), "`.")] pub $attr: $aty,)*
        }

        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty {
            $(#[doc = concat!("`", stringify!($one), "`.")] pub $one: Box<dyn $crate::modules::Module>,)*
            $(#[doc = concat!("`", stringify!($list), "`.")] pub $list: Vec<Box<dyn $crate::modules::Module>>,)*
            $(#[doc = concat!("`", stringify!($attr), "`.")] pub $attr: $aty,)*
        }

        impl $crate::modules::Module for $ty {
            fn forward_t(&$s, $x: &tch::Tensor, $train: bool) -> $crate::error::Result<tch::Tensor> $body

            fn in_channels(&self) -> Option<i64> {
                $crate::modules::composite::Input::input(&self.$input)$(.map(|c| c * $mul))?
            }

            fn fusable(&self) -> Vec<(String, &dyn $crate::modules::Fuse)> {
                #[allow(unused_mut)]
                let mut units = Vec::new();
                $(units.extend($crate::modules::composite::child_fusable(stringify!($one), self.$one.as_ref()));)*
                $(units.extend($crate::modules::child::list_fusable(concat!(stringify!($list), "."), &self.$list));)*
                units
            }
        }

        impl $crate::modules::Block for $ty {
            type Config = $cfg;
            const NAME: &'static str = $name;
            const CLASSES: &'static [&'static str] = &[$($class),+];

            fn new(s: &$crate::nn::Scope, $c: &$cfg) -> $crate::error::Result<Self> {
                $check
                Ok(Self {
                    $($one: $c.$one.build(&s.sub(stringify!($one)))?,)*
                    $($list: $crate::modules::child::build_list(&s.sub(stringify!($list)), &$c.$list)?,)*
                    $($attr: $c.$attr.clone(),)*
                })
            }

            #[allow(unused_variables)]
            fn from_pickle(
                m: &$crate::modules::Pickled<'_>,
                notes: &mut $crate::modules::Notes,
            ) -> $crate::error::Result<$cfg> {
                Ok($cfg {
                    $($one: $crate::modules::Child::from_pickle(&m.child(stringify!($one))?, notes)?,)*
                    $($list: $crate::modules::Child::list_from_pickle(&m.child(stringify!($list))?, notes)?,)*
                    $($attr: $crate::modules::composite::attr_or(m, stringify!($attr), $adef, notes),)*
                })
            }

            $(
            fn from_args($a: &$crate::modules::Args) -> $crate::error::Result<Option<$cfg>> {
                let built = || -> $crate::error::Result<$cfg> { $init };
                built().map(Some)
            }
            )?

            fn fused(c: &$cfg) -> $crate::error::Result<$cfg> {
                Ok($cfg {
                    $($one: c.$one.fused()?,)*
                    $($list: $crate::modules::child::fused_list(&c.$list)?,)*
                    $($attr: c.$attr.clone(),)*
                })
            }
        }
    };
}
pub(crate) use composite;
