//! A distribution of milliseconds: an HDR histogram (3 significant digits) with an exact sum and
//! maximum beside it, carried across `gwmon check` runs.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A histogram of milliseconds with an exact sum and max beside it.
#[derive(Clone, Debug)]
pub struct Dist {
    pub hist: Histogram<u64>,
    pub sum_ms: i128,
    pub max_ms: i64,
}

impl Default for Dist {
    fn default() -> Self {
        Dist {
            hist: Histogram::new(3).expect("3 significant digits is valid"),
            sum_ms: 0,
            max_ms: 0,
        }
    }
}

impl Dist {
    pub fn record(&mut self, ms: i64) {
        let ms = ms.max(0);
        // Auto-resizing histogram: recording cannot fail for a non-negative value.
        let _ = self.hist.record(ms as u64);
        self.sum_ms += i128::from(ms);
        self.max_ms = self.max_ms.max(ms);
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The value (ms) at quantile `q`.
    pub fn quantile(&self, q: f64) -> u64 {
        self.hist.value_at_quantile(q)
    }
}

// The histogram is carried across `gwmon check` runs in its serialized V2 form.
impl Serialize for Dist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let values: Vec<(u64, u64)> = self
            .hist
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect();
        (values, self.sum_ms as f64, self.max_ms).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (values, sum, max): (Vec<(u64, u64)>, f64, i64) = Deserialize::deserialize(d)?;
        let mut dist = Dist::default();
        for (v, c) in values {
            dist.hist.record_n(v, c).map_err(serde::de::Error::custom)?;
        }
        dist.sum_ms = sum as i128;
        dist.max_ms = max;
        Ok(dist)
    }
}
