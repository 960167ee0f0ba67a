//! `Measure-Object`: count, sum, average, maximum and minimum.

use crate::lang::values::{Object, Val};

/// What `Measure-Object` was asked for.
#[derive(Debug, Clone, Default)]
pub struct Measure {
    /// `-Property`.
    pub property: Option<String>,
    /// `-Sum`.
    pub sum: bool,
    /// `-Average`.
    pub average: bool,
    /// `-Maximum`.
    pub maximum: bool,
    /// `-Minimum`.
    pub minimum: bool,
}

/// Measures `values` (the property of each object, or the objects).
///
/// # Errors
///
/// A value that is not a number when a sum, average, maximum or minimum is
/// asked for.
pub fn measure(values: &[Val], m: &Measure) -> Result<Val, String> {
    let values: Vec<&Val> = values.iter().filter(|v| **v != Val::Null).collect();
    let numbers = || -> Result<Vec<f64>, String> {
        values
            .iter()
            .map(|v| {
                v.as_number().ok_or_else(|| {
                    format!("`{v}` is not a number; Measure-Object -Sum, -Average, -Maximum and -Minimum take numbers")
                })
            })
            .collect()
    };
    let asked = m.sum || m.average || m.maximum || m.minimum;
    let numbers = if asked { numbers()? } else { Vec::new() };
    let stat = |wanted: bool, f: &dyn Fn(&[f64]) -> f64| {
        if wanted && !numbers.is_empty() {
            Val::number(f(&numbers))
        } else {
            Val::Null
        }
    };
    let total = |n: &[f64]| n.iter().sum::<f64>();
    Ok(Val::Object(Object {
        properties: vec![
            ("Count".to_owned(), Val::Int(values.len() as i64)),
            (
                "Average".to_owned(),
                stat(m.average, &|n| total(n) / n.len() as f64),
            ),
            ("Sum".to_owned(), stat(m.sum, &total)),
            (
                "Maximum".to_owned(),
                stat(m.maximum, &|n| n.iter().copied().fold(f64::MIN, f64::max)),
            ),
            (
                "Minimum".to_owned(),
                stat(m.minimum, &|n| n.iter().copied().fold(f64::MAX, f64::min)),
            ),
            (
                "Property".to_owned(),
                m.property.clone().map_or(Val::Null, Val::Str),
            ),
        ],
        by_name: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sums_averages_and_extremes() {
        let values = [Val::Str("2".into()), Val::Int(4), Val::Null, Val::Num(0.5)];
        let all = Measure {
            property: Some("Quota".into()),
            sum: true,
            average: true,
            maximum: true,
            minimum: true,
        };
        let m = measure(&values, &all).unwrap();
        assert_eq!(m.member("Count"), Val::Int(3));
        assert_eq!(m.member("Sum"), Val::Num(6.5));
        assert_eq!(m.member("Maximum"), Val::Int(4));
        assert_eq!(m.member("Minimum"), Val::Num(0.5));
        assert_eq!(m.member("Property"), Val::Str("Quota".into()));
        let count = measure(&[Val::Str("x".into())], &Measure::default()).unwrap();
        assert_eq!(
            (count.member("Count"), count.member("Sum")),
            (Val::Int(1), Val::Null)
        );
        let e = measure(&[Val::Str("x".into())], &all).unwrap_err();
        assert!(e.contains("`x` is not a number"), "{e}");
    }
}
