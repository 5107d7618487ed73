//! RFC 5734 §4 framing: every EPP message is preceded by a 32-bit big-endian length that
//! counts those four bytes too. Sans-IO: the server reads the header, asks [`length`] how much
//! follows, reads exactly that.

/// Bytes in the header.
pub const HEADER: usize = 4;

/// Why a header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length is below the header's own size (nothing can follow).
    #[error("a frame length of {0} is shorter than its own header")]
    TooShort(u32),
    /// The frame is larger than the server accepts.
    #[error("a frame of {0} bytes is larger than the {1} accepted")]
    TooLarge(u32, usize),
}

/// The number of payload bytes after a header, if the frame is acceptable.
pub fn length(header: [u8; HEADER], max_frame: usize) -> Result<usize, FrameError> {
    let total = u32::from_be_bytes(header);
    if (total as usize) <= HEADER {
        return Err(FrameError::TooShort(total));
    }
    if total as usize > max_frame {
        return Err(FrameError::TooLarge(total, max_frame));
    }
    Ok(total as usize - HEADER)
}

/// A payload with its header.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&((payload.len() + HEADER) as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_the_header() {
        let frame = encode(b"<epp/>");
        assert_eq!(&frame[..4], &[0, 0, 0, 10]);
        assert_eq!(length([0, 0, 0, 10], 1 << 16), Ok(6));
        assert_eq!(length([0, 0, 0, 4], 1 << 16), Err(FrameError::TooShort(4)));
        assert_eq!(length([0, 0, 0, 0], 1 << 16), Err(FrameError::TooShort(0)));
        assert_eq!(
            length([0xff, 0xff, 0xff, 0xff], 1 << 16),
            Err(FrameError::TooLarge(u32::MAX, 1 << 16))
        );
    }
}
