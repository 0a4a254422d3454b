//! Hparams: the plugin data of `hparams` summaries, decoded into each run's values and
//! metrics.

use prost::Message;

use super::{HValue, RunState};
use crate::proto::hparams::{h_params_plugin_data, HParamsPluginData};

impl RunState {
    pub(super) fn note_hparams(&mut self, content: &[u8]) {
        if let Some(log) = &mut self.hparams_log {
            log.push(content.to_vec());
        }
        let Ok(pd) = HParamsPluginData::decode(content) else {
            return;
        };
        match pd.data {
            Some(h_params_plugin_data::Data::SessionStartInfo(ssi)) => {
                let mut hp: Vec<(String, HValue)> = ssi
                    .hparams
                    .into_iter()
                    .map(|(k, v)| (k, hvalue(v)))
                    .collect();
                hp.sort_by(|a, b| a.0.cmp(&b.0));
                self.hparams.hparams = hp;
                self.hparams.group_name = ssi.group_name;
                self.hparams.start_time_secs = ssi.start_time_secs;
            }
            Some(h_params_plugin_data::Data::Experiment(exp)) => {
                for m in exp.metric_infos {
                    if let Some(name) = m.name {
                        if !self.hparams.metric_tags.contains(&name.tag) {
                            self.hparams.metric_tags.push(name.tag);
                        }
                    }
                }
            }
            Some(h_params_plugin_data::Data::SessionEndInfo(sei)) => {
                self.hparams.status = Some(sei.status);
            }
            None => {}
        }
    }
}

fn hvalue(v: prost_types::Value) -> HValue {
    use prost_types::value::Kind as K;
    match v.kind {
        Some(K::NumberValue(x)) => HValue::Number(x),
        Some(K::StringValue(s)) => HValue::Str(s),
        Some(K::BoolValue(b)) => HValue::Bool(b),
        _ => HValue::Null,
    }
}
