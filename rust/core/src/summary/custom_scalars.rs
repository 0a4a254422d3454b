//! Custom scalars: the `custom_scalars` plugin's `Layout`, as torch's
//! `torch.utils.tensorboard.summary.custom_scalars` writes it for `add_custom_scalars` and its
//! two shorthands.
//!
//! One value, tag [`plugins::CUSTOM_SCALARS_LAYOUT_TAG`], the plugin named with empty content,
//! and a `DT_STRING` tensor of rank 0 (a present, empty `TensorShapeProto`) whose one string is
//! the serialized `Layout{category: [{title, chart: [{title, multiline|margin}]}]}`, categories
//! and charts in the caller's order. A margin chart is one `Series{value, lower, upper}` from
//! exactly three tags.

use std::fmt;

use prost::Message;

use super::{plugin_metadata, shape, value};
use crate::format::plugins;
use crate::proto::custom_scalar::{
    chart, margin_chart_content, Category, Chart, Layout, MarginChartContent, MultilineChartContent,
};
use crate::proto::{summary, DataType, TensorProto};

/// One chart of a category: its kind and the scalar tags it draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChartSpec {
    /// One line per tag (each tag a regular expression TensorBoard matches against tags).
    Multiline(Vec<String>),
    /// A value with lower and upper bounds: exactly three tags, in that order.
    Margin(Vec<String>),
}

/// A category: its title and its charts (title, chart), in order.
pub type CategorySpec = (String, Vec<(String, ChartSpec)>);

/// A margin chart without exactly three tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarginTagsError {
    /// The category's title.
    pub category: String,
    /// The chart's title.
    pub chart: String,
    /// How many tags it has.
    pub got: usize,
}

impl fmt::Display for MarginTagsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "layout['{}']['{}']: a Margin chart needs exactly 3 tags (value, lower, upper), \
             got {}",
            self.category, self.chart, self.got
        )
    }
}

impl std::error::Error for MarginTagsError {}

/// The serialized `Layout` of `categories`.
pub fn layout(categories: &[CategorySpec]) -> Result<Vec<u8>, MarginTagsError> {
    let mut out = Vec::with_capacity(categories.len());
    for (title, charts) in categories {
        let mut chart_protos = Vec::with_capacity(charts.len());
        for (chart_title, spec) in charts {
            let content = match spec {
                ChartSpec::Multiline(tags) => {
                    chart::Content::Multiline(MultilineChartContent { tag: tags.clone() })
                }
                ChartSpec::Margin(tags) => {
                    let [value, lower, upper] =
                        <[String; 3]>::try_from(tags.clone()).map_err(|t| MarginTagsError {
                            category: title.clone(),
                            chart: chart_title.clone(),
                            got: t.len(),
                        })?;
                    chart::Content::Margin(MarginChartContent {
                        series: vec![margin_chart_content::Series {
                            value,
                            lower,
                            upper,
                        }],
                    })
                }
            };
            chart_protos.push(Chart {
                title: chart_title.clone(),
                content: Some(content),
            });
        }
        out.push(Category {
            title: title.clone(),
            chart: chart_protos,
            closed: false,
        });
    }
    Ok(Layout {
        version: 0,
        category: out,
    }
    .encode_to_vec())
}

/// The summary value holding the layout of `categories`.
pub fn custom_scalars(categories: &[CategorySpec]) -> Result<summary::Value, MarginTagsError> {
    let tensor = TensorProto {
        dtype: DataType::DtString as i32,
        tensor_shape: Some(shape(&[])),
        string_val: vec![layout(categories)?],
        ..Default::default()
    };
    Ok(value(
        plugins::CUSTOM_SCALARS_LAYOUT_TAG.to_owned(),
        Some(plugin_metadata(plugins::CUSTOM_SCALARS, Vec::new())),
        summary::value::Value::Tensor(tensor),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn layout_in_order() {
        let cats = vec![
            (
                "b".to_owned(),
                vec![("m".to_owned(), ChartSpec::Multiline(tags(&["x", "y"])))],
            ),
            (
                "a".to_owned(),
                vec![("g".to_owned(), ChartSpec::Margin(tags(&["v", "lo", "hi"])))],
            ),
        ];
        let v = custom_scalars(&cats).unwrap();
        assert_eq!(v.tag, "custom_scalars__config__");
        let Some(summary::value::Value::Tensor(t)) = v.value else {
            panic!()
        };
        assert!(t.tensor_shape.unwrap().dim.is_empty());
        let l = Layout::decode(&t.string_val[0][..]).unwrap();
        assert_eq!(l.category[0].title, "b");
        assert_eq!(l.category[1].title, "a");
        let Some(chart::Content::Margin(m)) = &l.category[1].chart[0].content else {
            panic!()
        };
        assert_eq!(m.series[0].lower, "lo");
    }

    #[test]
    fn margin_needs_three_tags() {
        let cats = vec![(
            "c".to_owned(),
            vec![("t".to_owned(), ChartSpec::Margin(tags(&["a", "b"])))],
        )];
        let e = custom_scalars(&cats).unwrap_err();
        assert_eq!(e.got, 2);
        assert!(e.to_string().contains("exactly 3 tags"));
    }
}
