//! Graphs: `add_graph`'s `GraphDef` of a traced PyTorch model and the `RunMetadata` event
//! (tagged `step1`) that TensorBoard's graph dashboard reads beside it.
//!
//! The caller walks the traced (inlined) TorchScript graph into a [`TracedGraph`]: the graph's
//! inputs, its operator nodes in order (kind, raw scope, input and output value names, output
//! shapes, Python's text of the attributes), its outputs, and the module tree's aliases. This module makes
//! of it what `torch.utils.tensorboard._pytorch_graph` makes: scope names resolved to
//! `Net/Linear[fc1]/...`, one `NodeDef` per graph input (`input/...`), per graph output
//! (`output/output.N`) and per operator output, named, connected and attributed as torch
//! names, connects and attributes them (including torch's dangling edges to module values,
//! which TensorBoard draws as they are), in torch's order; `versions.producer` 22; the run
//! metadata with one CPU device's (empty) step stats.
//!
//! ```
//! use ferroboard_core::summary::graph::{traced_graph_def, TracedGraph, TracedOp, TracedValue};
//!
//! let graph = TracedGraph {
//!     model_name: "Net".into(),
//!     module_aliases: vec![("__module".into(), "Net[__module]".into())],
//!     inputs: vec![TracedValue { name: "x.1".into(), shape: Some(vec![2, 3]) }],
//!     ops: vec![TracedOp {
//!         kind: "aten::relu".into(),
//!         scope: String::new(),
//!         inputs: vec!["x.1".into()],
//!         outputs: vec![TracedValue { name: "4".into(), shape: Some(vec![2, 3]) }],
//!         attributes: "{}".into(),
//!     }],
//!     outputs: vec![TracedValue { name: "4".into(), shape: Some(vec![2, 3]) }],
//! };
//! let def = traced_graph_def(&graph)?;
//! let names: Vec<_> = def.node.iter().map(|n| n.name.as_str()).collect();
//! assert_eq!(names, ["input/x.1", "output/output.1", "Net/4"]);
//! assert_eq!(def.node[2].input, ["input/x.1"]);
//! # Ok::<(), ferroboard_core::summary::graph::GraphError>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use prost::Message;

use super::{shape, Step, WallTime};
use crate::proto::{
    attr_value, event, AttrValue, DeviceStepStats, Event, GraphDef, NodeDef, RunMetadata,
    StepStats, TaggedRunMetadata, VersionDef,
};

/// `versions.producer` of torch's graphs ("reverse engineered from standard TensorBoard logged
/// data", as torch's source says).
pub const PRODUCER: i32 = 22;

/// The tag of the run-metadata event beside the graph.
pub const RUN_METADATA_TAG: &str = "step1";

/// The device torch names in the step stats, whatever the model ran on.
pub const STEP_STATS_DEVICE: &str = "/device:CPU:0";

/// The `op` of graph input and output nodes.
const IO_NODE: &str = "IO Node";

/// A value of the traced graph: its debug name and, when the tracer knows it completely, its
/// tensor shape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TracedValue {
    /// The value's debug name (`x.1`, `input.3`, `63`).
    pub name: String,
    /// The dimension sizes, or `None` when the value is not a complete tensor.
    pub shape: Option<Vec<i64>>,
}

/// An operator node of the traced graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TracedOp {
    /// The node's kind (`aten::linear`, `prim::Constant`, `prim::GetAttr`).
    pub kind: String,
    /// The raw scope: the tracer's `scopeName()` (`__module.fc1`), or for `prim::GetAttr`
    /// nodes the attribute path torch builds (`__module.conv/conv.weight`).
    pub scope: String,
    /// The debug names of the node's inputs.
    pub inputs: Vec<String>,
    /// The node's outputs.
    pub outputs: Vec<TracedValue>,
    /// Python's `str()` of the node's attribute dict (`{'value': 1}`); torch stores it under
    /// `attr` with single quotes replaced by spaces (`{ value : 1}`), and so does this module.
    pub attributes: String,
}

/// A traced model, as the caller walked it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TracedGraph {
    /// The traced module's name (`Net`), the root of every scope.
    pub model_name: String,
    /// Module aliases of the module tree (`__module.fc1` -> `Linear[fc1]`).
    pub module_aliases: Vec<(String, String)>,
    /// The graph inputs that are used and are not modules (`self`).
    pub inputs: Vec<TracedValue>,
    /// The operator nodes, in graph order.
    pub ops: Vec<TracedOp>,
    /// The graph outputs: the returned values' debug names and shapes.
    pub outputs: Vec<TracedValue>,
}

/// Why a traced graph could not be converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphError {
    /// A node names an input that no node, graph input or operator produces or consumes.
    UnknownInput {
        /// The node whose input is unknown.
        node: String,
        /// The unknown value name.
        input: String,
    },
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::UnknownInput { node, input } => write!(
                f,
                "graph node {node:?} takes value {input:?}, which the traced graph does not define"
            ),
        }
    }
}

impl std::error::Error for GraphError {}

/// One entry of torch's `nodes_io` dictionary.
struct IoNode {
    name: String,
    inputs: Vec<String>,
    /// `Some` for operator outputs (torch's `NodeBase`), `None` for graph inputs and outputs.
    scope: Option<String>,
    /// `input` or `output` for graph inputs and outputs.
    io: Option<&'static str>,
    shape: Option<Vec<i64>>,
    op: String,
    attributes: String,
}

/// An insertion-ordered map where assigning an existing key replaces its value in place, as
/// Python's `OrderedDict` does.
#[derive(Default)]
struct Ordered {
    entries: Vec<(String, IoNode)>,
    index: HashMap<String, usize>,
}

impl Ordered {
    fn insert(&mut self, key: String, node: IoNode) {
        match self.index.get(&key) {
            Some(&i) => self.entries[i].1 = node,
            None => {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, node));
            }
        }
    }
}

/// The scope torch shows for `raw`: the model's name, then each `/`-separated part replaced by
/// its module alias (`Linear[fc1]`) or, when it is none, by its text after the last `.`.
fn resolve_scope(raw: &str, model_name: &str, aliases: &HashMap<&str, &str>) -> String {
    let parts: Vec<&str> = raw
        .split('/')
        .map(|part| match aliases.get(part) {
            Some(alias) => *alias,
            None => part.rsplit('.').next().unwrap_or(part),
        })
        .collect();
    let mut scope = model_name.to_owned();
    if parts.iter().any(|p| !p.is_empty()) {
        scope.push('/');
        scope.push_str(&parts.join("/"));
    }
    scope
}

/// The `GraphDef` torch's `add_graph` writes for `graph`.
pub fn traced_graph_def(graph: &TracedGraph) -> Result<GraphDef, GraphError> {
    let aliases: HashMap<&str, &str> = graph
        .module_aliases
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let scopes: Vec<String> = graph
        .ops
        .iter()
        .map(|op| resolve_scope(&op.scope, &graph.model_name, &aliases))
        .collect();

    // First pass (torch's `parse`): graph inputs, then output sinks.
    let mut nodes = Ordered::default();
    for input in &graph.inputs {
        nodes.insert(
            input.name.clone(),
            IoNode {
                name: input.name.clone(),
                inputs: Vec::new(),
                scope: None,
                io: Some("input"),
                shape: input.shape.clone(),
                op: IO_NODE.to_owned(),
                attributes: String::new(),
            },
        );
    }
    for (i, output) in graph.outputs.iter().enumerate() {
        let name = format!("output.{}", i + 1);
        nodes.insert(
            name.clone(),
            IoNode {
                name,
                inputs: vec![output.name.clone()],
                scope: None,
                io: Some("output"),
                shape: output.shape.clone(),
                op: IO_NODE.to_owned(),
                attributes: String::new(),
            },
        );
    }

    // Second pass (torch's `populate_namespace_from_OP_to_IO`): one node per operator output.
    let mut shallowest = "default";
    for (op, scope) in graph.ops.iter().zip(&scopes) {
        for output in &op.outputs {
            if !scope.is_empty() {
                shallowest = scope.split('/').next().unwrap_or(scope);
            }
            nodes.insert(
                output.name.clone(),
                IoNode {
                    name: output.name.clone(),
                    inputs: op.inputs.clone(),
                    scope: Some(scope.clone()),
                    io: None,
                    shape: output.shape.clone(),
                    op: op.kind.clone(),
                    attributes: op.attributes.replace('\'', " "),
                },
            );
        }
    }
    let mut scoped: HashMap<String, String> = HashMap::new();
    for (op, scope) in graph.ops.iter().zip(&scopes) {
        for input in &op.inputs {
            scoped.insert(input.clone(), format!("{scope}/{input}"));
        }
    }
    for (key, node) in &nodes.entries {
        if let Some(io) = node.io {
            scoped.insert(key.clone(), format!("{io}/{}", node.name));
        }
        if let Some(scope) = &node.scope {
            scoped.insert(key.clone(), format!("{scope}/{}", node.name));
            if scope.is_empty() && !shallowest.is_empty() {
                scoped.insert(node.name.clone(), format!("{shallowest}/{}", node.name));
            }
        }
    }

    let mut node_defs = Vec::with_capacity(nodes.entries.len());
    for (_, node) in nodes.entries {
        let inputs = node
            .inputs
            .iter()
            .map(|input| {
                scoped
                    .get(input)
                    .cloned()
                    .ok_or_else(|| GraphError::UnknownInput {
                        node: node.name.clone(),
                        input: input.clone(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let name = scoped.get(&node.name).cloned().unwrap_or(node.name);
        node_defs.push(node_def(name, node.op, inputs, node.attributes, node.shape));
    }
    Ok(GraphDef {
        node: node_defs,
        versions: Some(versions()),
        ..Default::default()
    })
}

/// A node as torch's `node_proto` makes it: the attribute text under `attr`, and the output
/// shape under `_output_shapes` when known.
fn node_def(
    name: String,
    op: String,
    input: Vec<String>,
    attributes: String,
    output_shape: Option<Vec<i64>>,
) -> NodeDef {
    let mut attr = BTreeMap::new();
    attr.insert(
        "attr".to_owned(),
        AttrValue {
            value: Some(attr_value::Value::S(attributes.into_bytes())),
        },
    );
    if let Some(dims) = output_shape {
        attr.insert(
            "_output_shapes".to_owned(),
            AttrValue {
                value: Some(attr_value::Value::List(attr_value::ListValue {
                    shape: vec![shape(&dims)],
                    ..Default::default()
                })),
            },
        );
    }
    NodeDef {
        name,
        op,
        input,
        attr,
        ..Default::default()
    }
}

/// The `VersionDef` of torch's graphs.
pub fn versions() -> VersionDef {
    VersionDef {
        producer: PRODUCER,
        ..Default::default()
    }
}

/// The run metadata torch writes beside a traced graph: one CPU device, no node stats.
pub fn run_metadata() -> RunMetadata {
    RunMetadata {
        step_stats: Some(StepStats {
            dev_stats: vec![DeviceStepStats {
                device: STEP_STATS_DEVICE.to_owned(),
                ..Default::default()
            }],
        }),
    }
}

/// The event holding a serialized `GraphDef` (step 0, as torch writes it).
pub fn graph_def_event(graph: &GraphDef, wall_time: WallTime) -> Event {
    serialized_graph_def_event(graph.encode_to_vec(), wall_time)
}

/// The event holding `graph_def`, a `GraphDef` already serialized (by the caller's own
/// protobuf classes: torch's `FileWriter.add_graph` and `add_onnx_graph` write the message they
/// are given), byte for byte, at step 0.
pub fn serialized_graph_def_event(graph_def: Vec<u8>, wall_time: WallTime) -> Event {
    Event {
        wall_time: wall_time.0,
        step: Step::default().0,
        source_metadata: None,
        what: Some(event::What::GraphDef(graph_def)),
    }
}

/// The event holding `run_metadata` tagged `step1` (step 0).
pub fn run_metadata_event(run_metadata: &RunMetadata, wall_time: WallTime) -> Event {
    serialized_run_metadata_event(run_metadata.encode_to_vec(), wall_time)
}

/// The event holding `run_metadata`, a `RunMetadata` already serialized, tagged `step1`
/// (step 0), as torch's `FileWriter.add_graph` writes the step stats it is given.
pub fn serialized_run_metadata_event(run_metadata: Vec<u8>, wall_time: WallTime) -> Event {
    Event {
        wall_time: wall_time.0,
        step: Step::default().0,
        source_metadata: None,
        what: Some(event::What::TaggedRunMetadata(TaggedRunMetadata {
            tag: RUN_METADATA_TAG.to_owned(),
            run_metadata,
        })),
    }
}

/// The two events of torch's `add_graph`, in its order: the graph, then the run metadata.
pub fn graph_events(graph: &TracedGraph, wall_time: WallTime) -> Result<[Event; 2], GraphError> {
    let def = traced_graph_def(graph)?;
    Ok([
        graph_def_event(&def, wall_time),
        run_metadata_event(&run_metadata(), wall_time),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(name: &str, shape: Option<Vec<i64>>) -> TracedValue {
        TracedValue {
            name: name.into(),
            shape,
        }
    }

    #[test]
    fn scopes_resolve_through_aliases_and_attribute_paths() {
        let aliases: HashMap<&str, &str> = [
            ("__module", "Net[__module]"),
            ("__module.conv", "Conv2d[conv]"),
        ]
        .into();
        assert_eq!(resolve_scope("", "Net", &aliases), "Net");
        assert_eq!(
            resolve_scope("__module.conv", "Net", &aliases),
            "Net/Conv2d[conv]"
        );
        assert_eq!(
            resolve_scope("__module.conv/conv.bias", "Net", &aliases),
            "Net/Conv2d[conv]/bias"
        );
    }

    #[test]
    fn attribute_text_has_torchs_spaces_for_quotes() {
        let graph = TracedGraph {
            model_name: "M".into(),
            ops: vec![TracedOp {
                kind: "prim::GetAttr".into(),
                scope: "__module.fc".into(),
                outputs: vec![value("weight.1", None)],
                attributes: "{'name': 'weight'}".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let def = traced_graph_def(&graph).unwrap();
        assert_eq!(def.node[0].name, "M/fc/weight.1");
        let Some(attr_value::Value::S(s)) = &def.node[0].attr["attr"].value else {
            panic!("attr is a string")
        };
        assert_eq!(s, b"{ name :  weight }");
        assert!(!def.node[0].attr.contains_key("_output_shapes"));
    }

    #[test]
    fn unknown_inputs_are_errors_not_panics() {
        let graph = TracedGraph {
            model_name: "M".into(),
            outputs: vec![value("nowhere", None)],
            ..Default::default()
        };
        assert_eq!(
            traced_graph_def(&graph),
            Err(GraphError::UnknownInput {
                node: "output.1".into(),
                input: "nowhere".into()
            })
        );
    }

    #[test]
    fn events_carry_graph_then_step1_metadata() {
        let graph = TracedGraph {
            model_name: "M".into(),
            inputs: vec![value("x.1", Some(vec![1]))],
            outputs: vec![value("x.1", Some(vec![1]))],
            ..Default::default()
        };
        let [g, m] = graph_events(&graph, WallTime(3.0)).unwrap();
        let Some(event::What::GraphDef(bytes)) = g.what else {
            panic!("first event is the graph")
        };
        let def = GraphDef::decode(&bytes[..]).unwrap();
        assert_eq!(def.versions.unwrap().producer, 22);
        assert_eq!(def.node[1].input, ["input/x.1"]);
        let Some(event::What::TaggedRunMetadata(t)) = m.what else {
            panic!("second event is the run metadata")
        };
        assert_eq!(t.tag, "step1");
        let rm = RunMetadata::decode(&t.run_metadata[..]).unwrap();
        assert_eq!(rm.step_stats.unwrap().dev_stats[0].device, "/device:CPU:0");
        assert_eq!((g.step, m.wall_time), (0, 3.0));
    }
}
