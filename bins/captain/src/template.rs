//! `captain template`: renders a chart exactly as `helm template` does, with Helm's flags.

use clap::Args;
use helm_engine::render::RenderOptions;
use helm_engine::values::ValueOptions;
use std::path::Path;

/// The flags of `captain template`, as `helm template` names them.
#[derive(Args)]
pub struct TemplateArgs {
    /// `[NAME] CHART`: an optional release name, then a chart directory or `.tgz`.
    #[arg(num_args = 0..)]
    pub args: Vec<String>,
    /// Values files, in order (later files win).
    #[arg(short = 'f', long = "values", value_delimiter = ',')]
    pub values: Vec<String>,
    /// `--set key=value` (typed).
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// `--set-string key=value`.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// `--set-file key=path`.
    #[arg(long = "set-file")]
    pub set_file: Vec<String>,
    /// `--set-json key=JSON` (or a whole JSON object).
    #[arg(long = "set-json")]
    pub set_json: Vec<String>,
    /// `--set-literal key=value`, the value taken verbatim.
    #[arg(long = "set-literal")]
    pub set_literal: Vec<String>,
    /// The release namespace.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    pub namespace: String,
    /// Print the chart's `crds/` files too.
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// The Kubernetes version for `.Capabilities`.
    #[arg(long = "kube-version")]
    pub kube_version: Option<String>,
    /// Extra API versions for `.Capabilities.APIVersions`.
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    pub api_versions: Vec<String>,
    /// Only print manifests from these templates.
    #[arg(short = 's', long = "show-only")]
    pub show_only: Vec<String>,
    /// A template for the release name.
    #[arg(long = "name-template")]
    pub name_template: Option<String>,
    /// Generate the release name. `helm template` names the release `release-name` anyway,
    /// so this only conflicts with a NAME argument.
    #[arg(short = 'g', long = "generate-name")]
    pub generate_name: bool,
    /// Leave out test hooks.
    #[arg(long = "skip-tests")]
    pub skip_tests: bool,
    /// Set `.Release.IsUpgrade` instead of `.Release.IsInstall`.
    #[arg(long = "is-upgrade")]
    pub is_upgrade: bool,
}

/// What `helm template` adds after errors raised while rendering manifests.
const DEBUG_HINT: &str = "\n\nUse --debug flag to render out invalid YAML";

/// Renders the chart; the text `helm template` would print, or its error message.
pub fn run_template(args: TemplateArgs) -> Result<String, String> {
    // Helm's `NameAndChart`, with `helm template`'s default name `release-name`.
    let (name, chart_path) = match args.args.as_slice() {
        [] => return Err("\"captain template\" requires at least 1 argument".into()),
        [chart] => (None, chart.clone()),
        [name, chart] => (Some(name.clone()), chart.clone()),
        [_, _, extra @ ..] => {
            return Err(format!(
                "expected at most two arguments, unexpected arguments: {}",
                extra.join(", ")
            ));
        }
    };
    let release_name = match (name, &args.name_template) {
        (Some(_), _) if args.generate_name => {
            return Err("cannot set --generate-name and also specify a name".into());
        }
        (Some(_), Some(_)) => {
            return Err("cannot set --name-template and also specify a name".into());
        }
        (Some(n), None) => n,
        (None, Some(t)) => {
            helm_engine::render::render_name_template(t).map_err(|e| e.to_string())?
        }
        (None, None) => "release-name".into(),
    };
    let path = Path::new(&chart_path);
    if !path.exists() {
        // Helm then treats the name as `repo/chart` in a chart repository.
        return Err(if path.is_absolute() || chart_path.starts_with('.') {
            format!("path {chart_path:?} not found")
        } else if chart_path.contains('/') {
            "repo does not found".to_string()
        } else {
            format!(
                "non-absolute URLs should be in form of repo_name/path_to_chart, got: {chart_path}"
            )
        });
    }
    let mut value_files = Vec::new();
    for f in &args.values {
        let data = std::fs::read(f).map_err(|e| format!("open {f}: {}", io_text(&e)))?;
        value_files.push((f.clone(), data));
    }
    let opts = ValueOptions {
        value_files,
        values: args.set,
        string_values: args.set_string,
        file_values: args.set_file,
        json_values: args.set_json,
        literal_values: args.set_literal,
    };
    let user = opts.merge().map_err(|e| e.to_string())?;
    let chart = helm_engine::chart::load(path).map_err(|e| e.to_string())?;
    let render = RenderOptions {
        release_name,
        namespace: args.namespace,
        kube_version: args.kube_version,
        api_versions: args.api_versions,
        include_crds: args.include_crds,
        show_only: args.show_only,
        skip_tests: args.skip_tests,
        is_install: !args.is_upgrade,
        is_upgrade: args.is_upgrade,
        ..RenderOptions::default()
    };
    // Helm logs its warnings on stderr as they come, before any error.
    let mut warnings = Vec::new();
    let result = helm_engine::render::render_collecting(chart, &user, &render, &mut warnings);
    for w in &warnings {
        eprintln!("{w}");
    }
    result.map(|r| r.manifest).map_err(|e| match e {
        helm_engine::Error::Rendering(inner) => format!("{inner}{DEBUG_HINT}"),
        other => other.to_string(),
    })
}

fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
