//! The event-file format: TFRecord framing and its CRC, and what TensorBoard's plugins put in
//! the records. Depends on the generated protobuf messages only.
//!
//! * [`crc`]: the masked CRC32C that guards every record.
//! * [`record`]: TFRecord framing and a resumable, chunk-fed record parser.
//! * [`plugins`]: every plugin name, the plugin -> [`plugins::Kind`] rule, and the tensor
//!   layouts TensorFlow gives each plugin.

pub mod crc;
pub mod plugins;
pub mod record;
