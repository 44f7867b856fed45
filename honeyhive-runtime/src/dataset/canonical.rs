//! Canonical JSON: the exact text of Python's `json.dumps(value, sort_keys=True)`.
//!
//! The external ids of a dataset hash this text, so it must match the reference SDK byte
//! for byte (see `docs/external-ids.md`). It works on JSON *text*, never on a parsed
//! [`serde_json::Value`], because a `Value` forgets what the text said: integers beyond 64 bits
//! become floats and the float `1.0` would no longer be told apart from the integer `1`. Each
//! level is re-read with [`serde_json::value::RawValue`], which hands back the untouched text
//! of every member, so number lexemes reach the writer as written.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::de::{Error as _, IgnoredAny};
use serde_json::value::RawValue;

/// Rewrites JSON text as Python's `json.dumps(value, sort_keys=True)` would print it.
///
/// * object members sorted by key (Unicode code point order), written `{"a": 1, "b": 2}`;
///   a key given twice keeps its last value, as Python's `json.loads` does;
/// * arrays in order, written `[1, 2]`;
/// * strings with `ensure_ascii` escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, every other
///   character outside U+0020..=U+007E as `\uXXXX` (lowercase hex), characters above U+FFFF
///   as a surrogate pair;
/// * integers (no `.`, `e` or `E`) with their exact digits at any size (`-0` becomes `0`, as
///   Python's `int` makes it);
/// * other numbers as [`python_float_repr`] of the nearest double.
///
/// # Errors
/// The text is not one valid JSON value, or it holds a number too large for a double
/// (`1e400`: Python would print `Infinity`, which is not JSON).
///
/// # Example
/// ```
/// use honeyhive::dataset::canonical;
///
/// let text = r#"{"b": [1.50, 123456789012345678901234567890], "a": "café"}"#;
/// assert_eq!(
///     canonical(text).unwrap(),
///     r#"{"a": "caf\u00e9", "b": [1.5, 123456789012345678901234567890]}"#
/// );
/// assert!(canonical("{").is_err());
/// ```
pub fn canonical(json: &str) -> Result<String, serde_json::Error> {
    serde_json::from_str::<IgnoredAny>(json)?;
    let mut out = String::with_capacity(json.len());
    write_value(&mut out, json)?;
    Ok(out)
}

/// Writes the canonical array whose items are already canonical texts: `[a, b]`.
pub(super) fn canonical_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    out.push('[');
    for (position, item) in items.into_iter().enumerate() {
        if position > 0 {
            out.push_str(", ");
        }
        out.push_str(item);
    }
    out.push(']');
    out
}

/// Writes one valid JSON value (`json` has been checked by [`canonical`]).
fn write_value(out: &mut String, json: &str) -> Result<(), serde_json::Error> {
    let text = json.trim_matches([' ', '\t', '\n', '\r']);
    match text.as_bytes().first() {
        Some(b'{') => {
            let members: BTreeMap<String, &RawValue> = serde_json::from_str(text)?;
            out.push('{');
            for (position, (key, value)) in members.iter().enumerate() {
                if position > 0 {
                    out.push_str(", ");
                }
                write_string(out, key);
                out.push_str(": ");
                write_value(out, value.get())?;
            }
            out.push('}');
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push_str(", ");
                }
                write_value(out, item.get())?;
            }
            out.push(']');
        }
        Some(b'"') => write_string(out, &serde_json::from_str::<String>(text)?),
        Some(b'-' | b'0'..=b'9') => write_number(out, text)?,
        // `true`, `false` and `null` are already in canonical form.
        _ => out.push_str(text),
    }
    Ok(())
}

/// Writes a JSON string with Python's `ensure_ascii` escapes.
fn write_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Writes a JSON number lexeme: integers keep their digits, the rest goes through `f64`.
fn write_number(out: &mut String, lexeme: &str) -> Result<(), serde_json::Error> {
    if !lexeme.contains(['.', 'e', 'E']) {
        // JSON integers have no leading zeros, so `-0` is the only lexeme Python's `int`
        // rewrites.
        out.push_str(if lexeme == "-0" { "0" } else { lexeme });
        return Ok(());
    }
    let value: f64 = lexeme
        .parse()
        .map_err(|_| serde_json::Error::custom(format!("invalid number `{lexeme}`")))?;
    if !value.is_finite() {
        return Err(serde_json::Error::custom(format!(
            "number `{lexeme}` is out of range for a 64-bit float"
        )));
    }
    out.push_str(&python_float_repr(value));
    Ok(())
}

/// Formats a double as Python's `repr(float)`.
///
/// The digits are the shortest that read back as the same double (what Rust's own float
/// formatting produces). Python lays them out positionally, with at least one digit after the
/// point, when the decimal exponent `e` of the first digit satisfies `-4 <= e < 16`; otherwise
/// in exponent form with a sign and at least two exponent digits. Non-finite values print as
/// `nan`, `inf` and `-inf`, as `repr` does (they never come out of JSON text).
///
/// # Example
/// ```
/// use honeyhive::dataset::python_float_repr;
///
/// assert_eq!(python_float_repr(1.0), "1.0");
/// assert_eq!(python_float_repr(0.1 + 0.2), "0.30000000000000004");
/// assert_eq!(python_float_repr(1e16), "1e+16");
/// assert_eq!(python_float_repr(0.00001), "1e-05");
/// assert_eq!(python_float_repr(-0.0), "-0.0");
/// ```
pub fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let scientific = shortest_scientific(value);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();

    let mut out = String::from(sign);
    if (-4..16).contains(&exponent) {
        if exponent < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n(
                '0',
                exponent.unsigned_abs() as usize - 1,
            ));
            out.push_str(&digits);
        } else {
            let int_len = exponent.unsigned_abs() as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{exponent_sign}{:02}", exponent.unsigned_abs());
    }
    out
}

/// The shortest digits that read back as `value`, closest to it, ties to even (what Python's
/// `repr` picks), as `d[.ddd]e<exp>`, e.g. `-1.5e-7`.
fn shortest_scientific(value: f64) -> String {
    // Rust's `{:e}` gives the shortest round-trip digits, but when the double lies exactly
    // halfway between two such digit strings it rounds the tie up (`1059438285926254.25`
    // becomes `...254.3`), where Python rounds to even (`...254.2`). Exact formatting at the
    // same number of digits rounds ties to even; it is the answer whenever it round-trips.
    let shortest = format!("{value:e}");
    let digits = shortest
        .split_once('e')
        .map_or(shortest.as_str(), |(mantissa, _)| mantissa);
    let precision = digits
        .chars()
        .filter(char::is_ascii_digit)
        .count()
        .saturating_sub(1);
    let nearest = format!("{value:.precision$e}");
    if nearest
        .parse::<f64>()
        .is_ok_and(|parsed| parsed.to_bits() == value.to_bits())
    {
        nearest
    } else {
        shortest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(value, repr(value))`: the right-hand sides are what CPython 3 prints.
    const FLOAT_REPRS: &[(f64, &str)] = &[
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (-1.0, "-1.0"),
        (0.1, "0.1"),
        (0.5, "0.5"),
        (1.5, "1.5"),
        (2.5, "2.5"),
        (42.195, "42.195"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1.0 / 3.0, "0.3333333333333333"),
        (2.0 / 3.0, "0.6666666666666666"),
        (100.0, "100.0"),
        (123.456, "123.456"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e+16"),
        (1.5e16, "1.5e+16"),
        (9007199254740992.0, "9007199254740992.0"),
        (9007199254740993.0, "9007199254740992.0"),
        (12345678901234567.0, "1.2345678901234568e+16"),
        (123456789012345678901234567890.0, "1.2345678901234568e+29"),
        (1e17, "1e+17"),
        (1e21, "1e+21"),
        (1e22, "1e+22"),
        (1e23, "1e+23"),
        (1.5e300, "1.5e+300"),
        (1e308, "1e+308"),
        (f64::MAX, "1.7976931348623157e+308"),
        (-f64::MAX, "-1.7976931348623157e+308"),
        (0.001, "0.001"),
        (0.0001, "0.0001"),
        (0.00012345, "0.00012345"),
        (0.00001, "1e-05"),
        (0.000012345, "1.2345e-05"),
        (-0.00001, "-1e-05"),
        (1e-7, "1e-07"),
        (1e-10, "1e-10"),
        (1e-100, "1e-100"),
        (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        (5e-324, "5e-324"),
        (-5e-324, "-5e-324"),
        (f64::EPSILON, "2.220446049250313e-16"),
        (1234.5, "1234.5"),
        (999999999999999.9, "999999999999999.9"),
        (9999999999999998.0, "9999999999999998.0"),
        (0.3, "0.3"),
        (1.1, "1.1"),
        (2.675, "2.675"),
        (100000.0, "100000.0"),
        (1.7976931348623157e300, "1.7976931348623156e+300"),
        (6.02214076e23, "6.02214076e+23"),
        (6.62607015e-34, "6.62607015e-34"),
        (299792458.0, "299792458.0"),
        (-273.15, "-273.15"),
        (4.35, "4.35"),
        (0.07, "0.07"),
        (1e-4, "0.0001"),
        (9.999999999999999e-5, "9.999999999999999e-05"),
        // Exactly halfway between two shortest digit strings: Python rounds to even.
        (f64::from_bits(0x430e_1c6d_958d_7b72), "1059438285926254.2"),
        (f64::from_bits(0xc314_41f2_33f6_3165), "-1425502010969177.2"),
        (f64::from_bits(0x42b7_fa57_c450_e950), "26363981746409.312"),
        (f64::from_bits(0xc2d8_c0fe_9119_c088), "-108868734838530.12"),
    ];

    #[test]
    fn float_repr_matches_python_table() {
        for &(value, expected) in FLOAT_REPRS {
            assert_eq!(python_float_repr(value), expected, "repr of {value:e}");
        }
    }

    #[test]
    fn float_repr_non_finite() {
        assert_eq!(python_float_repr(f64::NAN), "nan");
        assert_eq!(python_float_repr(f64::INFINITY), "inf");
        assert_eq!(python_float_repr(f64::NEG_INFINITY), "-inf");
    }

    /// Layout rules of `repr(float)` that hold for every double: it reads back exactly, uses
    /// exponent form exactly when the decimal exponent is outside `-4..16`, writes the exponent
    /// with a sign and two digits at least, and has a point and a digit on each side otherwise.
    #[test]
    fn float_repr_properties_on_random_doubles() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            // xorshift64*: deterministic, spreads over all bit patterns.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        for _ in 0..20_000 {
            let value = f64::from_bits(next());
            if !value.is_finite() {
                continue;
            }
            let repr = python_float_repr(value);
            assert_eq!(
                repr.parse::<f64>().unwrap().to_bits(),
                value.to_bits(),
                "{repr}"
            );
            let scientific = shortest_scientific(value);
            let exponent: i32 = scientific.split_once('e').unwrap().1.parse().unwrap();
            let digits = |text: &str| {
                let mantissa = text.split('e').next().unwrap_or(text);
                mantissa.chars().filter(char::is_ascii_digit).count()
            };
            let shortest = format!("{value:e}");
            assert_eq!(
                digits(&scientific),
                digits(&shortest),
                "{scientific} vs {shortest}"
            );
            let body = repr.strip_prefix('-').unwrap_or(&repr);
            if (-4..16).contains(&exponent) {
                assert!(!body.contains('e'), "{repr}");
                let (int_part, frac_part) = body.split_once('.').expect("positional has a point");
                assert!(!int_part.is_empty() && !frac_part.is_empty(), "{repr}");
            } else {
                let (mantissa, exp) = body.split_once('e').expect("exponent form");
                assert!(
                    !mantissa.ends_with('.') && !mantissa.starts_with('0'),
                    "{repr}"
                );
                assert!(exp.starts_with('+') || exp.starts_with('-'), "{repr}");
                assert!(exp.len() >= 3, "{repr}");
                assert_eq!(exp.parse::<i32>().unwrap(), exponent, "{repr}");
            }
            // A number in the JSON text is the same number after canonicalisation.
            assert_eq!(canonical(&format!("{value:e}")).unwrap(), repr);
        }
    }

    #[test]
    fn objects_sorted_by_code_point_and_formatted_like_python() {
        assert_eq!(canonical("{}").unwrap(), "{}");
        assert_eq!(canonical("[]").unwrap(), "[]");
        assert_eq!(
            canonical(r#" {"b":1,"a":{"d":[3,1,{"z":null,"y":true}],"c":false}} "#).unwrap(),
            r#"{"a": {"c": false, "d": [3, 1, {"y": true, "z": null}]}, "b": 1}"#
        );
        // U+E000 sorts before U+1F600 by code point, after it by UTF-16 unit.
        assert_eq!(
            canonical("{\"\u{1F600}\": 1, \"\u{E000}\": 2, \"Z\": 3, \"a\": 4}").unwrap(),
            r#"{"Z": 3, "a": 4, "\ue000": 2, "\ud83d\ude00": 1}"#
        );
        // Python keeps the last of repeated keys.
        assert_eq!(canonical(r#"{"k": 1, "k": 2}"#).unwrap(), r#"{"k": 2}"#);
    }

    #[test]
    fn strings_escaped_with_ensure_ascii() {
        let text = serde_json::to_string(
            "q\"\\/\n\r\t\u{8}\u{c}\u{1}\u{1f} ~\u{7f}\u{80}é中\u{2028}\u{FFFF}\u{10000}😀",
        )
        .unwrap();
        assert_eq!(
            canonical(&text).unwrap(),
            r#""q\"\\/\n\r\t\b\f\u0001\u001f ~\u007f\u0080\u00e9\u4e2d\u2028\uffff\ud800\udc00\ud83d\ude00""#
        );
        // Escapes in the input are decoded first, then written the canonical way.
        assert_eq!(
            canonical(r#""\u00E9\/\uD83D\uDE00""#).unwrap(),
            r#""\u00e9/\ud83d\ude00""#
        );
    }

    #[test]
    fn numbers_keep_integer_digits_and_reformat_floats() {
        assert_eq!(
            canonical(
                "[123456789012345678901234567890, -98765432109876543210, 0, -0, 18446744073709551616]"
            )
            .unwrap(),
            "[123456789012345678901234567890, -98765432109876543210, 0, 0, 18446744073709551616]"
        );
        assert_eq!(
            canonical("[1.0, 1.50, 1e2, 1E-5, -0.0, 2.5e+3, 0.30000000000000004, 1e-400, 12345678901234567890.0]")
                .unwrap(),
            "[1.0, 1.5, 100.0, 1e-05, -0.0, 2500.0, 0.30000000000000004, 0.0, 1.2345678901234567e+19]"
        );
    }

    #[test]
    fn rejects_invalid_json_and_overflowing_floats() {
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "nul",
            "[1] 2",
            "NaN",
            "\"\\ud800\"",
        ] {
            assert!(canonical(bad).is_err(), "{bad:?} should be rejected");
        }
        let error = canonical("[1e400]").unwrap_err().to_string();
        assert!(error.contains("`1e400` is out of range"), "{error}");
    }

    #[test]
    fn canonical_array_joins_canonical_items() {
        assert_eq!(canonical_array([]), "[]");
        assert_eq!(canonical_array(["{}", "{\"a\": 1}"]), "[{}, {\"a\": 1}]");
    }
}
