//! The instances map, stored as a list of entries (JSON keys must be strings), with each rule
//! as its number (the form of earlier `gwmon check` state files).

use std::collections::BTreeMap;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

use super::{Instance, InstanceId, Rule};

pub fn serialize<S: Serializer>(
    m: &BTreeMap<InstanceId, Instance>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(m.iter().map(|((r, k), v)| ((r.index(), k), v)))
}

pub fn deserialize<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<InstanceId, Instance>, D::Error> {
    let v = Vec::<((u8, String), Instance)>::deserialize(d)?;
    v.into_iter()
        .map(|((i, k), inst)| {
            let r = Rule::from_index(i).ok_or_else(|| D::Error::custom("unknown rule"))?;
            Ok(((r, k), inst))
        })
        .collect()
}
