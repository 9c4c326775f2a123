//! One-byte type tags. They are part of the stable hash format: never renumber them.

pub const UNIT: u8 = 0x01;
pub const BOOL: u8 = 0x02;
pub const CHAR: u8 = 0x03;
pub const U8: u8 = 0x10;
pub const U16: u8 = 0x11;
pub const U32: u8 = 0x12;
pub const U64: u8 = 0x13;
pub const U128: u8 = 0x14;
pub const USIZE: u8 = 0x15;
pub const I8: u8 = 0x18;
pub const I16: u8 = 0x19;
pub const I32: u8 = 0x1a;
pub const I64: u8 = 0x1b;
pub const I128: u8 = 0x1c;
pub const ISIZE: u8 = 0x1d;
pub const F32: u8 = 0x20;
pub const F64: u8 = 0x21;
pub const STR: u8 = 0x30;
pub const PATH: u8 = 0x31;
pub const NAME: u8 = 0x32;
pub const SEQ: u8 = 0x40;
pub const MAP: u8 = 0x41;
pub const SET: u8 = 0x42;
pub const UNORDERED_MAP: u8 = 0x43;
pub const UNORDERED_SET: u8 = 0x44;
pub const TUPLE: u8 = 0x45;
pub const NONE: u8 = 0x50;
pub const SOME: u8 = 0x51;
pub const OK: u8 = 0x52;
pub const ERR: u8 = 0x53;
pub const DURATION: u8 = 0x60;
pub const SYSTEM_TIME: u8 = 0x61;
pub const STRUCT: u8 = 0x70;
pub const ENUM: u8 = 0x71;
pub const NUM_RUN: u8 = 0x7f;
pub const DIGEST: u8 = 0x62;
/// An OS string that is not UTF-8, as raw bytes (Unix, WASI and other byte-string families).
#[cfg_attr(windows, allow(dead_code))]
pub const OS_BYTES: u8 = 0x33;
/// An OS string that is not valid UTF-16, as its 16-bit units little-endian (Windows).
#[cfg_attr(not(windows), allow(dead_code))]
pub const OS_WIDE: u8 = 0x34;
