//! Canonical bytes for hashing and signing.
//!
//! The canonical form of a value is its JSON with: object keys sorted by
//! their UTF-8 bytes at every level, no whitespace, strings escaped as
//! `serde_json` does, numbers as `serde_json` prints them (integers in
//! decimal, floats in their shortest round-trip form). We build it from a
//! `serde_json::Value` and sort keys ourselves, so the result does not depend
//! on whether some other crate turned on serde_json's `preserve_order`.
//!
//! Signatures are always computed over canonical bytes, and the bytes that
//! travel are kept as they are: a verifier never re-serializes before
//! checking.

use serde::Serialize;
use serde_json::Value;

/// Canonical JSON bytes of `value` (see module docs).
pub fn to_canonical_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let v = serde_json::to_value(value)?;
    let mut out = Vec::with_capacity(256);
    write_value(&v, &mut out)?;
    Ok(out)
}

fn write_value(v: &Value, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k)?;
                out.push(b':');
                write_value(&map[k], out)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        other => serde_json::to_writer(&mut *out, other)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_and_no_whitespace() {
        let v = json!({"b": 1, "a": {"z": [1, 2.5, "x"], "c": null}});
        assert_eq!(
            String::from_utf8(to_canonical_bytes(&v).unwrap()).unwrap(),
            r#"{"a":{"c":null,"z":[1,2.5,"x"]},"b":1}"#
        );
    }

    #[test]
    fn vietnamese_text_is_kept_as_utf8() {
        let v = json!({"t": "Nghị quyết"});
        assert_eq!(
            to_canonical_bytes(&v).unwrap(),
            "{\"t\":\"Nghị quyết\"}".as_bytes()
        );
    }
}
