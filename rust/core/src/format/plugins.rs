//! TensorBoard's plugin names, which plugin's data the reader sorts into which [`Kind`], and
//! the tensor layouts TensorFlow's summary ops give each plugin: the one place this format
//! knowledge lives.
//!
//! A `Summary.Value` names its plugin in `metadata.plugin_data.plugin_name` (TensorBoard reads
//! it from the first value of a tag that carries metadata). The layouts below are those of
//! TensorFlow's summary ops (`tensorboard/plugins/*/summary_v2.py`) and of torch's
//! `SummaryWriter`, which writes the same:
//!
//! * `scalars`: a rank-0 (shapeless) float tensor, `DT_FLOAT` or `DT_DOUBLE` (or half,
//!   bfloat16, integers: the reader's `tensor_scalar` takes any of them); the legacy form is a
//!   `simple_value` with no plugin.
//! * `histograms`: a `[k, 3]` `DT_DOUBLE` tensor, one row `(left edge, right edge, count)` per
//!   bucket ([`HISTOGRAM_TENSOR_COLUMNS`]); the legacy form is a `HistogramProto`.
//! * `images`: a 1-D `DT_STRING` tensor `[width, height, png_0, png_1, ...]` (width and height
//!   as decimal strings, then one encoded image per sample, [`IMAGE_TENSOR_HEADER`] strings
//!   before the first); the legacy form is a `Summary.Image`.
//! * `audio`: a `[k, 2]` `DT_STRING` tensor, one row `(encoded wav, label)` per clip
//!   ([`AUDIO_TENSOR_COLUMNS`]); the legacy form is a `Summary.Audio`.
//! * `text`: a `DT_STRING` tensor of any shape (torch writes `[1]`).
//! * `pr_curves`: a `[6, num_thresholds]` `DT_FLOAT` tensor, rows true positives, false
//!   positives, true negatives, false negatives, precision, recall ([`PR_CURVE_ROWS`]), with
//!   `PrCurvePluginData{version, num_thresholds}` as plugin content.
//! * `hparams`: the data is the plugin content (`HParamsPluginData`) under one of the tags
//!   [`HPARAMS_EXPERIMENT_TAG`], [`HPARAMS_SESSION_START_TAG`], [`HPARAMS_SESSION_END_TAG`];
//!   the value is empty or a dummy tensor.
//! * [`GRAPH_PLUGINS`]: run metadata and Keras model graphs, which the reader only notes as
//!   "this run has a graph".

/// The `scalars` plugin.
pub const SCALARS: &str = "scalars";
/// The `histograms` plugin.
pub const HISTOGRAMS: &str = "histograms";
/// The `images` plugin.
pub const IMAGES: &str = "images";
/// The `audio` plugin.
pub const AUDIO: &str = "audio";
/// The `text` plugin.
pub const TEXT: &str = "text";
/// The `pr_curves` plugin.
pub const PR_CURVES: &str = "pr_curves";
/// The `hparams` plugin.
pub const HPARAMS: &str = "hparams";
/// The `mesh` plugin (its tensors are read as [`Kind::Tensor`], as tbparse reads them).
pub const MESH: &str = "mesh";
/// The `custom_scalars` plugin (its layout: a rank-0 `DT_STRING` tensor holding a serialized
/// `Layout`, under [`CUSTOM_SCALARS_LAYOUT_TAG`]).
pub const CUSTOM_SCALARS: &str = "custom_scalars";
/// The tag of the `custom_scalars` layout.
pub const CUSTOM_SCALARS_LAYOUT_TAG: &str = "custom_scalars__config__";

/// The graph plugin's names for run metadata with a graph, and for a Keras model.
pub const GRAPH_PLUGINS: [&str; 3] = [
    "graph_run_metadata",
    "graph_run_metadata_graph",
    "graph_keras_model",
];

/// The tag of the `hparams` experiment summary.
pub const HPARAMS_EXPERIMENT_TAG: &str = "_hparams_/experiment";
/// The tag of an `hparams` session start summary (the hyperparameter values).
pub const HPARAMS_SESSION_START_TAG: &str = "_hparams_/session_start_info";
/// The tag of an `hparams` session end summary (the status).
pub const HPARAMS_SESSION_END_TAG: &str = "_hparams_/session_end_info";

/// Columns of a `histograms` tensor: left edge, right edge, count.
pub const HISTOGRAM_TENSOR_COLUMNS: usize = 3;
/// Columns of an `audio` tensor: encoded clip, label.
pub const AUDIO_TENSOR_COLUMNS: usize = 2;
/// Strings before the first encoded image in an `images` tensor: width, height.
pub const IMAGE_TENSOR_HEADER: usize = 2;
/// Rows of a `pr_curves` tensor: TP, FP, TN, FN, precision, recall.
pub const PR_CURVE_ROWS: usize = 6;

/// The summary kinds the reader sorts values into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    /// `simple_value`, or a rank-0 float tensor of the `scalars` plugin.
    Scalar = 0,
    /// A `HistogramProto`, or a `[k, 3]` tensor of the `histograms` plugin.
    Histogram = 1,
    /// A `Summary.Image`, or a string tensor of the `images` plugin.
    Image = 2,
    /// A `Summary.Audio`, or a string tensor of the `audio` plugin.
    Audio = 3,
    /// A string tensor of the `text` plugin.
    Text = 4,
    /// Any other tensor.
    Tensor = 5,
    /// A `[6, k]` tensor of the `pr_curves` plugin.
    PrCurve = 6,
    /// A summary of the `hparams` plugin (its data is in the plugin content).
    HParams = 7,
}

impl Kind {
    /// All kinds.
    pub const ALL: [Kind; 8] = [
        Kind::Scalar,
        Kind::Histogram,
        Kind::Image,
        Kind::Audio,
        Kind::Text,
        Kind::Tensor,
        Kind::PrCurve,
        Kind::HParams,
    ];
    /// Its lower-case name (`scalars`, `histograms`, `images`, `audio`, `text`, `tensors`,
    /// `pr_curves`, `hparams`): the plugin's name, and `tensors` for other tensors.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Scalar => SCALARS,
            Kind::Histogram => HISTOGRAMS,
            Kind::Image => IMAGES,
            Kind::Audio => AUDIO,
            Kind::Text => TEXT,
            Kind::Tensor => "tensors",
            Kind::PrCurve => PR_CURVES,
            Kind::HParams => HPARAMS,
        }
    }
    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
    /// Its bit in a set of kinds.
    pub(crate) fn bit(self) -> u16 {
        1 << (self as u8)
    }
}

/// The kind of a `Summary.Value` tensor whose tag's plugin is `plugin`: the plugin's kind for
/// `scalars`, `histograms`, `images`, `audio`, `text` and `pr_curves`, [`Kind::Tensor`] for
/// any other (the reader sorts `hparams` values out before asking).
#[inline]
pub fn tensor_kind(plugin: &str) -> Kind {
    match plugin {
        SCALARS => Kind::Scalar,
        HISTOGRAMS => Kind::Histogram,
        IMAGES => Kind::Image,
        AUDIO => Kind::Audio,
        TEXT => Kind::Text,
        PR_CURVES => Kind::PrCurve,
        _ => Kind::Tensor,
    }
}

/// Whether `plugin` is one of the graph plugins ([`GRAPH_PLUGINS`]).
#[inline]
pub fn is_graph(plugin: &str) -> bool {
    GRAPH_PLUGINS.contains(&plugin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_plugin_kind_round_trips_through_its_name() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.name()), Some(k));
            if !matches!(k, Kind::Tensor | Kind::HParams) {
                assert_eq!(tensor_kind(k.name()), k);
            }
        }
        assert_eq!(tensor_kind(HPARAMS), Kind::Tensor);
        assert_eq!(tensor_kind("custom_scalars"), Kind::Tensor);
    }
}
