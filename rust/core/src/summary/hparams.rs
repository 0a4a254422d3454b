//! Hyperparameters: the three summaries of the `hparams` plugin that `add_hparams` writes, as
//! torch's `torch.utils.tensorboard.summary.hparams` builds them, with two fixes.
//!
//! * experiment (tag [`plugins::HPARAMS_EXPERIMENT_TAG`]): one `HParamInfo{name, type,
//!   domain_discrete}` per hyperparameter, in the caller's order, and one
//!   `MetricInfo{name: {tag}}` per metric;
//! * session start ([`plugins::HPARAMS_SESSION_START_TAG`]): the values, as `number_value`,
//!   `string_value` or `bool_value`;
//! * session end ([`plugins::HPARAMS_SESSION_END_TAG`]): `STATUS_SUCCESS`.
//!
//! Each is a `Summary.Value` with only a tag and the plugin metadata (no payload), the data in
//! `HParamsPluginData{version: 0}` as the plugin content.
//!
//! The fixes: booleans are `DATA_TYPE_BOOL` with `bool_value` (torch tests `int` before `bool`,
//! so it writes them as `DATA_TYPE_FLOAT64` numbers), and every hyperparameter, whatever the
//! Python type it came from, carries its discrete domain when one is given (torch drops it for
//! tensors). The domain is checked here: each of its values of the hyperparameter's kind, the
//! logged value one of them.

use std::fmt;

use prost::Message;

use super::plugin_metadata;
use crate::format::plugins;
use crate::proto::hparams::{
    h_param_info, h_params_plugin_data, DataType, Experiment, HParamInfo, HParamsPluginData,
    MetricInfo, MetricName, SessionEndInfo, SessionStartInfo, Status,
};
use crate::proto::summary;

/// The `version` of the hparams plugin data torch and TensorBoard write.
pub const PLUGIN_DATA_VERSION: i32 = 0;

/// One hyperparameter value.
#[derive(Clone, Debug, PartialEq)]
pub enum HParamValue {
    /// A number (`DATA_TYPE_FLOAT64`, `number_value`).
    Number(f64),
    /// A string (`DATA_TYPE_STRING`, `string_value`).
    Str(String),
    /// A boolean (`DATA_TYPE_BOOL`, `bool_value`).
    Bool(bool),
}

impl HParamValue {
    fn kind(&self) -> &'static str {
        match self {
            HParamValue::Number(_) => "number",
            HParamValue::Str(_) => "str",
            HParamValue::Bool(_) => "bool",
        }
    }

    fn data_type(&self) -> DataType {
        match self {
            HParamValue::Number(_) => DataType::Float64,
            HParamValue::Str(_) => DataType::String,
            HParamValue::Bool(_) => DataType::Bool,
        }
    }

    fn to_proto(&self) -> prost_types::Value {
        use prost_types::value::Kind;
        let kind = match self {
            HParamValue::Number(x) => Kind::NumberValue(*x),
            HParamValue::Str(s) => Kind::StringValue(s.clone()),
            HParamValue::Bool(b) => Kind::BoolValue(*b),
        };
        prost_types::Value { kind: Some(kind) }
    }
}

impl fmt::Display for HParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HParamValue::Number(x) => write!(f, "{x}"),
            HParamValue::Str(s) => f.write_str(&quoted(s)),
            HParamValue::Bool(true) => f.write_str("True"),
            HParamValue::Bool(false) => f.write_str("False"),
        }
    }
}

/// Why the hyperparameters cannot be written; the message names the argument and key.
#[derive(Clone, Debug, PartialEq)]
pub enum HParamsError {
    /// A domain is given for a key that is not a (non-`None`) hyperparameter.
    UnknownDomainKey(String),
    /// A domain value is not of the hyperparameter's kind (a type error).
    DomainKind {
        /// The hyperparameter.
        key: String,
        /// The position of the offending domain value.
        index: usize,
        /// The hyperparameter value's kind.
        expected: &'static str,
        /// The domain value's kind.
        got: &'static str,
    },
    /// The logged value is not in its domain.
    NotInDomain {
        /// The hyperparameter.
        key: String,
        /// Its value.
        value: HParamValue,
    },
    /// The same hyperparameter name twice.
    DuplicateKey(String),
}

impl HParamsError {
    /// Whether this is a type error (`TypeError` in Python) rather than a value error.
    pub fn is_type_error(&self) -> bool {
        matches!(self, HParamsError::DomainKind { .. })
    }
}

impl fmt::Display for HParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HParamsError::UnknownDomainKey(k) => {
                let k = quoted(k);
                write!(
                    f,
                    "hparam_domain_discrete[{k}]: {k} is not a key of hparam_dict with a value"
                )
            }
            HParamsError::DomainKind {
                key,
                index,
                expected,
                got,
            } => {
                let key = quoted(key);
                write!(
                    f,
                    "hparam_domain_discrete[{key}][{index}]: expected a {expected} like \
                     hparam_dict[{key}], got a {got}"
                )
            }
            HParamsError::NotInDomain { key, value } => {
                let key = quoted(key);
                write!(
                    f,
                    "hparam_dict[{key}]: {value} is not in its domain \
                     hparam_domain_discrete[{key}]"
                )
            }
            HParamsError::DuplicateKey(k) => {
                write!(
                    f,
                    "hparam_dict: the key {} appears more than once",
                    quoted(k)
                )
            }
        }
    }
}

impl std::error::Error for HParamsError {}

/// `key` quoted as Python's `repr` quotes a plain string (the callers' messages do).
fn quoted(key: &str) -> String {
    format!("'{}'", key.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn hparams_value(tag: &str, data: h_params_plugin_data::Data) -> summary::Value {
    let content = HParamsPluginData {
        version: PLUGIN_DATA_VERSION,
        data: Some(data),
    }
    .encode_to_vec();
    summary::Value {
        node_name: String::new(),
        tag: tag.to_owned(),
        metadata: Some(plugin_metadata(plugins::HPARAMS, content)),
        value: None,
    }
}

/// The experiment, session start and session end values (in that order, torch's) for the
/// hyperparameters `hparams` (name, value; in the caller's order), their discrete `domains`
/// (name, values) and the metric tags `metrics`.
pub fn hparams(
    hparams: &[(String, HParamValue)],
    domains: &[(String, Vec<HParamValue>)],
    metrics: &[String],
) -> Result<[summary::Value; 3], HParamsError> {
    for (i, (k, _)) in hparams.iter().enumerate() {
        if hparams[..i].iter().any(|(other, _)| other == k) {
            return Err(HParamsError::DuplicateKey(k.clone()));
        }
    }
    for (key, domain) in domains {
        let Some((_, value)) = hparams.iter().find(|(k, _)| k == key) else {
            return Err(HParamsError::UnknownDomainKey(key.clone()));
        };
        if let Some((index, d)) = domain
            .iter()
            .enumerate()
            .find(|(_, d)| d.kind() != value.kind())
        {
            return Err(HParamsError::DomainKind {
                key: key.clone(),
                index,
                expected: value.kind(),
                got: d.kind(),
            });
        }
        if !domain.contains(value) {
            return Err(HParamsError::NotInDomain {
                key: key.clone(),
                value: value.clone(),
            });
        }
    }

    let infos = hparams
        .iter()
        .map(|(name, value)| HParamInfo {
            name: name.clone(),
            r#type: value.data_type() as i32,
            domain: domains.iter().find(|(k, _)| k == name).map(|(_, d)| {
                h_param_info::Domain::DomainDiscrete(prost_types::ListValue {
                    values: d.iter().map(HParamValue::to_proto).collect(),
                })
            }),
            ..Default::default()
        })
        .collect();
    let metric_infos = metrics
        .iter()
        .map(|tag| MetricInfo {
            name: Some(MetricName {
                group: String::new(),
                tag: tag.clone(),
            }),
            ..Default::default()
        })
        .collect();
    let experiment = Experiment {
        hparam_infos: infos,
        metric_infos,
        ..Default::default()
    };
    let start = SessionStartInfo {
        hparams: hparams
            .iter()
            .map(|(k, v)| (k.clone(), v.to_proto()))
            .collect(),
        ..Default::default()
    };
    let end = SessionEndInfo {
        status: Status::Success as i32,
        end_time_secs: 0.0,
    };
    Ok([
        hparams_value(
            plugins::HPARAMS_EXPERIMENT_TAG,
            h_params_plugin_data::Data::Experiment(experiment),
        ),
        hparams_value(
            plugins::HPARAMS_SESSION_START_TAG,
            h_params_plugin_data::Data::SessionStartInfo(start),
        ),
        hparams_value(
            plugins::HPARAMS_SESSION_END_TAG,
            h_params_plugin_data::Data::SessionEndInfo(end),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(v: &summary::Value) -> HParamsPluginData {
        let pd = v.metadata.as_ref().unwrap().plugin_data.as_ref().unwrap();
        assert_eq!(pd.plugin_name, "hparams");
        HParamsPluginData::decode(&pd.content[..]).unwrap()
    }

    #[test]
    fn three_values_with_tags_and_types() {
        let hp = vec![
            ("lr".to_owned(), HParamValue::Number(0.1)),
            ("opt".to_owned(), HParamValue::Str("adam".into())),
            ("bn".to_owned(), HParamValue::Bool(true)),
        ];
        let doms = vec![(
            "opt".to_owned(),
            vec![
                HParamValue::Str("sgd".into()),
                HParamValue::Str("adam".into()),
            ],
        )];
        let [exp, ssi, sei] = hparams(&hp, &doms, &["acc".to_owned()]).unwrap();
        assert_eq!(exp.tag, "_hparams_/experiment");
        assert_eq!(ssi.tag, "_hparams_/session_start_info");
        assert_eq!(sei.tag, "_hparams_/session_end_info");
        assert!(exp.value.is_none());
        let Some(h_params_plugin_data::Data::Experiment(e)) = content(&exp).data else {
            panic!()
        };
        let types: Vec<i32> = e.hparam_infos.iter().map(|i| i.r#type).collect();
        assert_eq!(
            types,
            [
                DataType::Float64 as i32,
                DataType::String as i32,
                DataType::Bool as i32
            ]
        );
        assert!(e.hparam_infos[1].domain.is_some());
        assert!(e.hparam_infos[0].domain.is_none());
        assert_eq!(e.metric_infos[0].name.as_ref().unwrap().tag, "acc");
        let Some(h_params_plugin_data::Data::SessionStartInfo(s)) = content(&ssi).data else {
            panic!()
        };
        assert_eq!(
            s.hparams["bn"].kind,
            Some(prost_types::value::Kind::BoolValue(true))
        );
        let Some(h_params_plugin_data::Data::SessionEndInfo(end)) = content(&sei).data else {
            panic!()
        };
        assert_eq!(end.status, Status::Success as i32);
    }

    #[test]
    fn domains_are_checked() {
        let hp = vec![("n".to_owned(), HParamValue::Number(3.0))];
        let dom = |d: Vec<HParamValue>| vec![("n".to_owned(), d)];
        assert!(matches!(
            hparams(&hp, &dom(vec![HParamValue::Number(1.0)]), &[]),
            Err(HParamsError::NotInDomain { .. })
        ));
        let e = hparams(&hp, &dom(vec![HParamValue::Bool(true)]), &[]).unwrap_err();
        assert!(e.is_type_error());
        assert!(e.to_string().contains("hparam_domain_discrete['n'][0]"));
        assert!(matches!(
            hparams(&hp, &[("m".to_owned(), vec![])], &[]),
            Err(HParamsError::UnknownDomainKey(_))
        ));
        assert!(hparams(&hp, &dom(vec![HParamValue::Number(3.0)]), &[]).is_ok());
        let nan = vec![("n".to_owned(), HParamValue::Number(f64::NAN))];
        assert!(hparams(&nan, &dom(vec![HParamValue::Number(f64::NAN)]), &[]).is_err());
    }
}
