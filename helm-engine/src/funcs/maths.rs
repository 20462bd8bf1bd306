//! Sprig's math and conversion functions.

use super::convert::to_i64_e;
use super::{Registry, arg_int, arg_str, to_f64, to_i64};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.plain("add1", "a", |a| {
        Ok(Value::Int64(to_i64(a[0]).wrapping_add(1)))
    });
    r.plain("add", "a*", |a| {
        Ok(Value::Int64(
            a.iter().fold(0i64, |s, v| s.wrapping_add(to_i64(v))),
        ))
    });
    r.plain("sub", "aa", |a| {
        Ok(Value::Int64(to_i64(a[0]).wrapping_sub(to_i64(a[1]))))
    });
    r.plain("mul", "aa*", |a| {
        Ok(Value::Int64(
            a.iter().fold(1i64, |s, v| s.wrapping_mul(to_i64(v))),
        ))
    });
    r.plain("div", "aa", |a| {
        let d = to_i64(a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_i64(a[0]).wrapping_div(d)))
    });
    r.plain("mod", "aa", |a| {
        let d = to_i64(a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_i64(a[0]).wrapping_rem(d)))
    });
    r.plain("max", "aa*", |a| {
        Ok(Value::Int64(a.iter().map(|v| to_i64(v)).max().unwrap_or(0)))
    });
    r.plain("biggest", "aa*", |a| {
        Ok(Value::Int64(a.iter().map(|v| to_i64(v)).max().unwrap_or(0)))
    });
    r.plain("min", "aa*", |a| {
        Ok(Value::Int64(a.iter().map(|v| to_i64(v)).min().unwrap_or(0)))
    });
    r.plain("maxf", "aa*", |a| {
        Ok(Value::Float(
            a.iter().map(|v| to_f64(v)).fold(f64::NEG_INFINITY, go_max),
        ))
    });
    r.plain("minf", "aa*", |a| {
        Ok(Value::Float(
            a.iter().map(|v| to_f64(v)).fold(f64::INFINITY, go_min),
        ))
    });
    r.plain("add1f", "a", |a| {
        Ok(Value::Float(dec_op(&[to_f64(a[0]), 1.0], DecOp::Add)))
    });
    r.plain("addf", "a*", |a| {
        Ok(Value::Float(dec_fold(0.0, a, DecOp::Add)))
    });
    r.plain("subf", "aa*", |a| {
        Ok(Value::Float(dec_fold(to_f64(a[0]), &a[1..], DecOp::Sub)))
    });
    r.plain("mulf", "aa*", |a| {
        Ok(Value::Float(dec_fold(1.0, a, DecOp::Mul)))
    });
    r.plain("divf", "aa*", |a| {
        let mut acc = to_f64(a[0]);
        for v in &a[1..] {
            let d = to_f64(v);
            if d == 0.0 {
                return Err("decimal division by 0".into());
            }
            acc = round_sig(acc / d);
        }
        // Sprig computes with decimals, which have no negative zero.
        Ok(Value::Float(if acc == 0.0 { 0.0 } else { acc }))
    });
    r.plain("ceil", "a", |a| Ok(Value::Float(to_f64(a[0]).ceil())));
    r.plain("floor", "a", |a| Ok(Value::Float(to_f64(a[0]).floor())));
    r.plain("round", "aif*", |a| {
        let x = to_f64(a[0]);
        let p = arg_int(a, 1);
        let half = a.get(2).map(|v| to_f64(v)).unwrap_or(0.5);
        let pow = 10f64.powi(p as i32);
        let digit = pow * x;
        let (int, frac) = (digit.trunc(), digit.fract());
        let r = if frac >= half { int + 1.0 } else { int };
        Ok(Value::Float(r / pow))
    });
    r.plain("randInt", "ii", |a| {
        let (lo, hi) = (arg_int(a, 0), arg_int(a, 1));
        if hi <= lo {
            return Err("invalid argument to Intn".into());
        }
        Ok(Value::Int(fastrand::i64(lo..hi)))
    });
    r.plain("int", "a", |a| {
        to_i64_e(a[0]).map(Value::Int).or(Ok(Value::Int(0)))
    });
    r.plain("int64", "a", |a| {
        to_i64_e(a[0]).map(Value::Int64).or(Ok(Value::Int64(0)))
    });
    r.plain("float64", "a", |a| Ok(Value::Float(to_f64(a[0]))));
    r.plain("atoi", "s", |a| {
        Ok(Value::Int(arg_str(a, 0).parse::<i64>().unwrap_or(0)))
    });
    r.plain("toDecimal", "a", |a| {
        Ok(Value::Int64(
            i64::from_str_radix(&super::strval(a[0]), 8).unwrap_or(0),
        ))
    });
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Rounds to the 16 significant digits of shopspring/decimal's default precision, removing
/// binary noise such as `0.30000000000000004`.
fn round_sig(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    format!("{x:.15e}").parse().unwrap_or(x)
}

/// An exact decimal (mantissa, scale), as shopspring/decimal holds the shortest decimal form of
/// a float64; `None` when the value is too large for the fixed-width mantissa.
fn decimal(x: f64) -> Option<(i128, u32)> {
    if !x.is_finite() {
        return None;
    }
    let s = format!("{x}");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    if int.len() + frac.len() > 36 {
        return None;
    }
    let m: i128 = format!("{int}{frac}").parse().ok()?;
    Some((m, frac.len() as u32))
}

fn dec_to_f64((m, scale): (i128, u32)) -> f64 {
    format!("{m}e-{scale}").parse().unwrap_or(0.0)
}

#[derive(Clone, Copy)]
enum DecOp {
    Add,
    Sub,
    Mul,
}

/// Applies `op` exactly in decimal, falling back to binary floating point on overflow.
fn dec_apply(a: f64, b: f64, op: DecOp) -> f64 {
    let exact = || -> Option<f64> {
        let (ma, sa) = decimal(a)?;
        let (mb, sb) = decimal(b)?;
        let r = match op {
            DecOp::Mul => (ma.checked_mul(mb)?, sa + sb),
            DecOp::Add | DecOp::Sub => {
                let s = sa.max(sb);
                let xa = ma.checked_mul(10i128.checked_pow(s - sa)?)?;
                let xb = mb.checked_mul(10i128.checked_pow(s - sb)?)?;
                (
                    if matches!(op, DecOp::Add) {
                        xa.checked_add(xb)?
                    } else {
                        xa.checked_sub(xb)?
                    },
                    s,
                )
            }
        };
        Some(dec_to_f64(r))
    };
    exact().unwrap_or(match op {
        DecOp::Add => a + b,
        DecOp::Sub => a - b,
        DecOp::Mul => a * b,
    })
}

fn dec_op(v: &[f64], op: DecOp) -> f64 {
    v.iter().skip(1).fold(v[0], |acc, x| dec_apply(acc, *x, op))
}

fn dec_fold(init: f64, a: &[&Value], op: DecOp) -> f64 {
    let r = a.iter().fold(init, |acc, v| dec_apply(acc, to_f64(v), op));
    // Decimals have no negative zero.
    if r == 0.0 { 0.0 } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_like_sprig() {
        assert_eq!(
            dec_fold(0.0, &[&Value::Float(0.1), &Value::Float(0.2)], DecOp::Add),
            0.3
        );
        assert_eq!(dec_apply(1.0, 0.9, DecOp::Sub), 0.1);
        assert_eq!(dec_apply(1.1, 3.0, DecOp::Mul), 3.3);
        assert_eq!(round_sig(1.0 / 3.0), 0.3333333333333333);
    }
}
