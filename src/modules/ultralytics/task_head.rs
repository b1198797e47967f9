//! What the task heads built on `Detect` share (`Segment`, `Pose`, `OBB` and YOLO26's variants,
//! `nn/modules/head.py`, 8.4.190): a per-level branch of their own (`cv4`) in a one-to-many and,
//! for end-to-end heads, a one-to-one copy (`one2one_cv4`), of which the forward runs the one
//! the Detect part runs and `fuse` keeps only that one.

use std::collections::BTreeMap;

use tch::Tensor;

use crate::error::{Error, Result};
use crate::modules::child::{build_list, fused_list, list_fusable};
use crate::modules::{Child, Fuse, Module, Notes, Pickled};
use crate::nn::Scope;

/// A branch list read from a pickled head (`cv4`), when the head has it.
pub fn branch_from_pickle(
    m: &Pickled<'_>,
    name: &str,
    notes: &mut Notes,
) -> Result<Option<Vec<Child>>> {
    m.try_child(name)
        .map(|c| Child::list_from_pickle(&c, notes))
        .transpose()
}

/// The name of the copy of branch `name` the forward uses: `one2one_<name>` for an
/// end-to-end head, else `name`.
pub fn used_name(name: &str, end2end: bool) -> String {
    match end2end {
        true => format!("one2one_{name}"),
        false => name.to_string(),
    }
}

/// Build branch `name` of a head with `levels` levels: the copy the forward uses (an error
/// naming the class when it is missing or of the wrong length), and the other copy, when
/// present, built unused (its weights are in the state_dict).
pub fn build_branch(
    s: &Scope,
    class: &str,
    name: &str,
    [many, one]: [&Option<Vec<Child>>; 2],
    end2end: bool,
    levels: usize,
) -> Result<Vec<Box<dyn Module>>> {
    let (used, other) = if end2end { (one, many) } else { (many, one) };
    let used_at = used_name(name, end2end);
    let Some(list) = used else {
        return Err(Error::Config(format!("{class} has no `{used_at}` branch")));
    };
    if list.len() != levels {
        return Err(Error::Config(format!(
            "{class} has {levels} levels but {} `{used_at}` branches",
            list.len()
        )));
    }
    if let Some(other) = other {
        let _unused = build_list(&s.sub(&used_name(name, !end2end)), other)?;
    }
    build_list(&s.sub(&used_at), list)
}

/// Both copies of a branch after `fuse`: each fused, and, where the head has a one-to-one
/// copy, the copy the forward does not use dropped (upstream's `Detect.fuse`).
pub fn fused_branch(
    [many, one]: [&Option<Vec<Child>>; 2],
    end2end: bool,
) -> Result<[Option<Vec<Child>>; 2]> {
    let fl = |l: &Option<Vec<Child>>| l.as_deref().map(fused_list).transpose();
    let (many, one) = (fl(many)?, fl(one)?);
    Ok(match (one.is_some(), end2end) {
        (false, _) => [many, None],
        (true, true) => [None, one],
        (true, false) => [many, None],
    })
}

/// The state_dict prefixes `fuse` drops for branch `name` (the unused copy, where there are
/// two).
pub fn dropped(name: &str, [many, one]: [&Option<Vec<Child>>; 2], end2end: bool) -> Vec<String> {
    match (many.is_some() && one.is_some(), end2end) {
        (false, _) => vec![],
        (true, e) => vec![used_name(name, !e)],
    }
}

/// A head's own fusion unit: drops the keys under `prefix` + each of its names.
#[derive(Debug, Default)]
pub struct Drop(pub Vec<String>);

impl Fuse for Drop {
    fn fold(&self, prefix: &str, sd: &mut BTreeMap<String, Tensor>) -> Result<()> {
        for name in &self.0 {
            let dropped = format!("{prefix}{name}.");
            sd.retain(|k, _| !k.starts_with(&dropped));
        }
        Ok(())
    }
}

/// The fusion units of a task head: the Detect part's, each used branch's (`name.`) and the
/// drop of unused copies.
pub fn head_fusable<'a>(
    detect: &'a dyn Module,
    branches: &[(String, &'a [Box<dyn Module>])],
    drop: &'a Drop,
) -> Vec<(String, &'a dyn Fuse)> {
    let mut units = detect.fusable();
    if !drop.0.is_empty() {
        units.push((String::new(), drop as &dyn Fuse));
    }
    for (name, list) in branches {
        units.extend(list_fusable(&format!("{name}."), list));
    }
    units
}

/// Declares an upstream subclass that keeps its parent's layout, state_dict and forward and
/// differs only in its constructor (`Segment26` over `Segment`): a newtype whose `Module` is
/// the parent's and whose `Block` is the parent's but for `NAME`, `CLASSES`, the constructor
/// flag `$variant` passed to the parent's `build`, and `from_args`.
macro_rules! variant {
    (
        $(#[$doc:meta])*
        $ty:ident($parent:ident, $cfg:ident), $name:literal, [$($class:literal),+ $(,)?],
        from_args($a:ident) $init:block
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty(pub $parent);

        impl $crate::modules::Module for $ty {
            fn forward_t(&self, x: &tch::Tensor, train: bool) -> $crate::error::Result<tch::Tensor> {
                self.0.forward_t(x, train)
            }
            fn forward_many(&self, xs: &[&tch::Tensor], train: bool) -> $crate::error::Result<tch::Tensor> {
                self.0.forward_many(xs, train)
            }
            fn forward_flow(
                &self,
                input: &$crate::modules::Flow,
                train: bool,
            ) -> $crate::error::Result<$crate::modules::Flow> {
                self.0.forward_flow(input, train)
            }
            fn in_channels(&self) -> Option<i64> {
                self.0.in_channels()
            }
            fn fusable(&self) -> Vec<(String, &dyn $crate::modules::Fuse)> {
                self.0.fusable()
            }
        }

        impl $crate::modules::Block for $ty {
            type Config = $cfg;
            const NAME: &'static str = $name;
            const CLASSES: &'static [&'static str] = &[$($class),+];

            fn new(s: &$crate::nn::Scope, c: &$cfg) -> $crate::error::Result<Self> {
                $parent::build(s, c, true).map($ty)
            }
            fn from_args($a: &$crate::modules::Args) -> $crate::error::Result<Option<$cfg>> {
                $init
            }
            fn from_pickle(
                m: &$crate::modules::Pickled<'_>,
                notes: &mut $crate::modules::Notes,
            ) -> $crate::error::Result<$cfg> {
                <$parent as $crate::modules::Block>::from_pickle(m, notes)
            }
            fn fused(c: &$cfg) -> $crate::error::Result<$cfg> {
                <$parent as $crate::modules::Block>::fused(c)
            }
        }
    };
}
pub(crate) use variant;
