//! A UUID as its 16 bytes, and its canonical text: 32 lower-case hex digits in groups of
//! 8-4-4-4-12, joined by hyphens (RFC 9562, section 4). Only what event ids need: no crate.

/// The length of a UUID's canonical text.
pub(crate) const CANONICAL_LEN: usize = 36;

/// Where the hyphens of the canonical text are.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];

/// The lower-case hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// A UUID, kept as its 16 bytes (most significant first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Uuid([u8; 16]);

impl Uuid {
    /// A version 4 UUID from 128 random bits: the version (4) and variant (RFC 9562) bits are
    /// set, the other 122 bits are `random`'s.
    pub(crate) fn v4_from_random(random: u128) -> Self {
        let mut bytes = random.to_be_bytes();
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Uuid(bytes)
    }

    /// The UUID whose canonical text `text` is; `None` for anything else (upper-case digits,
    /// no hyphens, braces, a `urn:uuid:` prefix, any other length or character).
    pub(crate) fn parse_canonical(text: &str) -> Option<Self> {
        let text = text.as_bytes();
        if text.len() != CANONICAL_LEN {
            return None;
        }
        let mut bytes = [0u8; 16];
        let mut digits = text
            .iter()
            .enumerate()
            .filter(|(at, _)| !HYPHENS.contains(at))
            .map(|(_, &digit)| digit);
        if HYPHENS.iter().any(|&at| text[at] != b'-') {
            return None;
        }
        for byte in &mut bytes {
            let high = lower_hex_value(digits.next()?)?;
            let low = lower_hex_value(digits.next()?)?;
            *byte = (high << 4) | low;
        }
        Some(Uuid(bytes))
    }

    /// The canonical text, written into `buffer`.
    pub(crate) fn encode<'b>(&self, buffer: &'b mut [u8; CANONICAL_LEN]) -> &'b str {
        let mut at = 0;
        for (index, byte) in self.0.iter().enumerate() {
            if matches!(index, 4 | 6 | 8 | 10) {
                buffer[at] = b'-';
                at += 1;
            }
            buffer[at] = HEX[usize::from(byte >> 4)];
            buffer[at + 1] = HEX[usize::from(byte & 0x0f)];
            at += 2;
        }
        // Only ASCII hex digits and hyphens were written.
        std::str::from_utf8(buffer).unwrap_or_default()
    }

    /// The version number (bits 48 to 51).
    #[cfg(test)]
    pub(crate) fn version(&self) -> u8 {
        self.0[6] >> 4
    }

    /// Whether the variant bits are RFC 9562's (`10`).
    #[cfg(test)]
    pub(crate) fn has_rfc_variant(&self) -> bool {
        self.0[8] & 0xc0 == 0x80
    }
}

/// The value of a lower-case hex digit.
fn lower_hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d";

    fn text(uuid: &Uuid) -> String {
        uuid.encode(&mut [0; CANONICAL_LEN]).to_owned()
    }

    #[test]
    fn the_canonical_text_parses_to_its_bytes_and_back() {
        let uuid = Uuid::parse_canonical(SAMPLE).unwrap();
        assert_eq!(
            uuid.0,
            [
                0x6f, 0x1c, 0x2b, 0x9e, 0x3d, 0x4a, 0x4f, 0x5b, 0x8c, 0x6d, 0x7e, 0x8f, 0x9a, 0x0b,
                0x1c, 0x2d
            ]
        );
        assert_eq!(text(&uuid), SAMPLE);
        assert_eq!(text(&Uuid([0; 16])), "00000000-0000-0000-0000-000000000000");
        assert_eq!(
            text(&Uuid([0xff; 16])),
            "ffffffff-ffff-ffff-ffff-ffffffffffff"
        );
    }

    #[test]
    fn anything_but_the_canonical_text_is_refused() {
        for malformed in [
            "",
            "e",
            "6F1C2B9E-3D4A-4F5B-8C6D-7E8F9A0B1C2D", // upper case
            "6f1c2b9e-3d4a-4f5b-8c6d-7E8f9a0b1c2d", // one upper-case digit
            "6f1c2b9e3d4a4f5b8c6d7e8f9a0b1c2d",     // no hyphens
            "{6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d}", // braces
            "urn:uuid:6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d",
            "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2g",  // not hex
            "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2",   // short
            "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d0", // long
            "6f1c2b9e3-d4a-4f5b-8c6d-7e8f9a0b1c2d",  // a hyphen moved
            "6f1c2b9e-3d4a-4f5b-8c6d+7e8f9a0b1c2d",  // another separator
            "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c-d",  // a hyphen for a digit
            "6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c\u{e9}", // 36 bytes, not ASCII
            "+f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d",  // a sign
            " 6f1c2b9e-3d4a-4f5b-8c6d-7e8f9a0b1c2d", // space
        ] {
            assert_eq!(Uuid::parse_canonical(malformed), None, "{malformed:?}");
        }
    }

    #[test]
    fn v4_sets_the_version_and_variant_and_keeps_the_rest() {
        for random in [0, u128::MAX, 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef] {
            let uuid = Uuid::v4_from_random(random);
            assert_eq!(uuid.version(), 4);
            assert!(uuid.has_rfc_variant());
            let kept = !((0xf_u128 << 76) | (0x3_u128 << 62));
            assert_eq!(u128::from_be_bytes(uuid.0) & kept, random & kept);
        }
    }

    proptest! {
        #[test]
        fn any_uuid_round_trips_through_its_text(bytes in any::<[u8; 16]>()) {
            let uuid = Uuid(bytes);
            let text = text(&uuid);
            prop_assert_eq!(text.len(), CANONICAL_LEN);
            prop_assert_eq!(&text, &text.to_lowercase());
            prop_assert_eq!(Uuid::parse_canonical(&text), Some(uuid));
        }

        #[test]
        fn text_parses_only_if_it_is_written_back_the_same(text in "[0-9a-fA-F-]{30,40}|.{0,40}") {
            if let Some(uuid) = Uuid::parse_canonical(&text) {
                prop_assert_eq!(self::text(&uuid), text);
            }
        }

        #[test]
        fn a_changed_character_is_refused_unless_it_is_another_lower_hex_digit(
            bytes in any::<[u8; 16]>(),
            at in 0..CANONICAL_LEN,
            replacement in any::<char>(),
        ) {
            let mut text: Vec<char> = self::text(&Uuid(bytes)).chars().collect();
            text[at] = replacement;
            let changed: String = text.into_iter().collect();
            let still_canonical = if HYPHENS.contains(&at) {
                replacement == '-'
            } else {
                replacement.is_ascii_digit() || ('a'..='f').contains(&replacement)
            };
            prop_assert_eq!(Uuid::parse_canonical(&changed).is_some(), still_canonical);
        }
    }
}
