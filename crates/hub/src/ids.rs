//! Fresh ids: 10 random characters of `[a-z0-9]` (about 51 bits), made from
//! the OS's random source, readable and safe in file names and URLs.

/// A new random id with a readable prefix, e.g. `new_id("m")` → `m-k3x9…`.
pub fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    // getrandom fails only without any OS entropy source; then a time-based
    // fallback still gives unique ids on one machine.
    if getrandom::getrandom(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes.copy_from_slice(&t.to_le_bytes()[..10]);
    }
    let s: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("{prefix}-{s}")
}
