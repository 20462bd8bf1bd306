//! `captain upgrade NAME --version V --set …`: changes what a HelmRequest asks for (its chart
//! version constraint and values), as the Go Captain plugin did; the controller then upgrades
//! the release. Values merge onto the HelmRequest's current ones, as `helm upgrade
//! --reuse-values` does, and `--set key=null` removes a key.

use crate::releases::ClusterArgs;
use helm_engine::Value;
use helm_engine::value::Map;
use helm_engine::values::{ValueOptions, merge_maps};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value as Json, json};

/// The flags of `upgrade`.
#[derive(clap::Args, Debug)]
pub struct UpgradeArgs {
    /// The HelmRequest name.
    pub name: String,
    /// The chart version constraint to move to.
    #[arg(long)]
    pub version: Option<String>,
    /// Values files, in order (later files win).
    #[arg(short = 'f', long = "values", value_delimiter = ',')]
    pub values: Vec<String>,
    /// `--set key=value` (typed).
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// `--set-string key=value`.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    #[command(flatten)]
    cluster: ClusterArgs,
}

/// Runs `upgrade`.
pub fn upgrade(args: UpgradeArgs) -> Result<String, String> {
    let mut value_files = Vec::new();
    for f in &args.values {
        let data = std::fs::read(f).map_err(|e| format!("open {f}: {e}"))?;
        value_files.push((f.clone(), data));
    }
    let changes = ValueOptions {
        value_files,
        values: args.set.clone(),
        string_values: args.set_string.clone(),
        ..Default::default()
    }
    .merge()
    .map_err(|e| e.to_string())?;
    if args.version.is_none() && changes.is_empty() {
        return Err("nothing to change: give --version, --set, --set-string or -f".into());
    }
    crate::releases::runtime()?.block_on(async {
        let (client, ns) = crate::releases::connect(&args.cluster).await?;
        // The HelmRequest resource, addressed directly (`app.alauda.io/v1`, `helmrequests`).
        let resource = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("app.alauda.io", "v1", "HelmRequest"),
            "helmrequests",
        );
        let api: Api<DynamicObject> = Api::namespaced_with(client, &ns, &resource);
        let hr = api
            .get_opt(&args.name)
            .await
            .map_err(|e| format!("reading HelmRequest {ns}/{}: {e}", args.name))?
            .ok_or_else(|| format!("HelmRequest {ns}/{} not found", args.name))?;
        let mut spec = json!({});
        if let Some(v) = &args.version {
            spec["version"] = json!(v);
        }
        if !changes.is_empty() {
            let current = match from_json(&hr.data["spec"]["values"]) {
                Value::Map(m) => m,
                _ => Map::new(),
            };
            // The whole new values object, so merge-patch semantics cannot leave stale list
            // items behind; `null`s in it delete keys, as `--set key=null` asks.
            spec["values"] = crate::releases::to_json(&Value::Map(merge_maps(current, changes)));
        }
        api.patch(
            &args.name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": spec })),
        )
        .await
        .map_err(|e| format!("updating HelmRequest {ns}/{}: {e}", args.name))?;
        Ok(format!(
            "helmrequest.app.alauda.io/{} upgraded\n",
            args.name
        ))
    })
}

/// JSON (as the API returned it) as template values.
fn from_json(v: &Json) -> Value {
    match v {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::List(a.iter().map(from_json).collect()),
        Json::Object(o) => Value::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}
