use super::*;

const MANIFESTS: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: prod
  labels: {team: a}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: sn1}
spec:
  cidrBlock: 10.0.0.0/24
  namespaces: [prod]
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: prod, labels: {app: web}}
spec:
  containers: [{name: c, image: x, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ignored}
"#;

#[test]
fn loads_multi_document_manifests() {
    let mut o = Objects::default();
    let mut errors = Vec::new();
    o.add_yaml(Path::new("m.yaml"), MANIFESTS, &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(o.namespaces.contains_key("prod"));
    assert!(o.subnets.contains_key("sn1"));
    assert!(
        o.pods
            .contains_key(&("prod".to_string(), "web".to_string()))
    );
    assert_eq!(o.origin("Pod/prod/web").unwrap().document, 2);
}

#[test]
fn bad_documents_name_file_and_field() {
    let mut o = Objects::default();
    let mut errors = Vec::new();
    o.add_yaml(
        Path::new("bad.yaml"),
        "apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: s}\nspec: {cidrBlock: [1]}\n---\nkind: 3\n---\napiVersion: v1\nkind: Pod\nmetadata: {}\n",
        &mut errors,
    );
    assert_eq!(errors.len(), 3, "{errors:?}");
    let first = errors[0].to_string();
    assert!(
        first.contains("bad.yaml")
            && first.contains("Subnet/s")
            && first.contains("spec.cidrBlock"),
        "{first}"
    );
    assert!(errors[1].to_string().contains("kind"), "{}", errors[1]);
    assert!(
        errors[2].to_string().contains("metadata.name"),
        "{}",
        errors[2]
    );
    assert!(o.subnets.is_empty());

    let mut errors = Vec::new();
    o.add_yaml(Path::new("broken.yaml"), "a: [unclosed", &mut errors);
    assert!(
        errors[0].to_string().contains("not valid YAML"),
        "{}",
        errors[0]
    );
}

#[test]
fn loads_a_directory_recursively() {
    let dir = std::env::temp_dir().join(format!("kube-bridge-objects-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.yaml"), MANIFESTS).unwrap();
    std::fs::write(
        dir.join("sub/b.yml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not yaml: [").unwrap();
    let (o, errors) = Objects::load_dir(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(o.namespaces.len(), 2);
}

/// A scratch directory removed on drop, even after a failed assertion.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_watched_file_that_stops_parsing_keeps_its_last_valid_contents() {
    let dir = Scratch(std::env::temp_dir().join(format!(
        "kube-bridge-manifestdir-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    let a = dir.0.join("a.yaml");
    std::fs::write(&a, MANIFESTS).unwrap();
    let mut watched = ManifestDir::default();
    let first = watched.load(&dir.0).unwrap();
    assert!(first.errors.is_empty() && first.unknown.is_empty());
    assert_eq!(first.objects.pods.len(), 1);

    // A typo: the pod is still declared by what the file last said, and the error says so.
    std::fs::write(&a, "apiVersion: v1\nkind: Pod\nmetadata: {name: web, [").unwrap();
    // A new file that never parsed: what it declares is unknown.
    let b = dir.0.join("b.yaml");
    std::fs::write(&b, "a: [unclosed").unwrap();
    let broken = watched.load(&dir.0).unwrap();
    assert_eq!(broken.objects.pods.len(), 1, "the pod stands");
    assert_eq!(broken.unknown, vec![b.clone()]);
    assert_eq!(broken.errors.len(), 2, "{:?}", broken.errors);
    assert!(
        broken.errors[0]
            .to_string()
            .contains("last valid contents stand"),
        "{}",
        broken.errors[0]
    );
    // Still broken on the next read: the last valid contents still stand.
    assert_eq!(watched.load(&dir.0).unwrap().objects.pods.len(), 1);

    // Fixed, then deleted: a deleted file's objects go.
    std::fs::write(&b, "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n").unwrap();
    let fixed = watched.load(&dir.0).unwrap();
    assert!(fixed.unknown.is_empty() && fixed.objects.namespaces.contains_key("b"));
    std::fs::remove_file(&a).unwrap();
    let gone = watched.load(&dir.0).unwrap();
    assert!(gone.objects.pods.is_empty() && gone.errors.is_empty());
}

const POD_A: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: prod}\nspec:\n  containers: [{name: c, image: x}]\n";
const POD_B: &str = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: prod}\nspec:\n  containers: [{name: c, image: x}]\n";
const POD_B_BROKEN: &str =
    "---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: prod}\nspec: 5\n";

#[test]
fn an_object_that_does_not_decode_is_held_not_absent() {
    let mut o = Objects::default();
    let mut errors = Vec::new();
    o.add_yaml(
        Path::new("pods.yaml"),
        &format!("{POD_A}{POD_B_BROKEN}"),
        &mut errors,
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = errors[0].to_string();
    assert!(
        e.contains("pods.yaml") && e.contains("Pod/prod/b") && e.contains("field spec"),
        "{e}"
    );
    assert_eq!(o.pods.len(), 1);
    assert_eq!(
        o.held.keys().collect::<Vec<_>>(),
        vec!["Pod/prod/b"],
        "the object is known to exist"
    );
    assert_eq!(o.held["Pod/prod/b"].document, 1);
    // Objects of kinds the controller does not use are not held, broken or not.
    let mut errors = Vec::new();
    o.add_yaml(
        Path::new("other.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: 5\n",
        &mut errors,
    );
    assert!(errors.is_empty() && o.held.len() == 1, "{errors:?}");
}

#[test]
fn a_watched_object_that_stops_decoding_keeps_its_last_valid_version() {
    let dir = Scratch(std::env::temp_dir().join(format!(
        "kube-bridge-manifestdir-held-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    let pods = dir.0.join("pods.yaml");
    let mut watched = ManifestDir::default();

    // Never valid while watched: held. The controller keeps a held pod's port and address,
    // so the rest may converge; a held Namespace (its labels select pods for policies) makes
    // its file's contents count as unknown.
    let ns = dir.0.join("ns.yaml");
    std::fs::write(
        &ns,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\nspec: 5\n",
    )
    .unwrap();
    std::fs::write(&pods, format!("{POD_A}{POD_B_BROKEN}")).unwrap();
    let first = watched.load(&dir.0).unwrap();
    assert_eq!(first.unknown, vec![ns.clone()]);
    assert!(first.objects.held.contains_key("Namespace/prod"));
    std::fs::remove_file(&ns).unwrap();
    let first = watched.load(&dir.0).unwrap();
    assert!(first.unknown.is_empty(), "{:?}", first.unknown);
    assert!(first.objects.held.contains_key("Pod/prod/b"));
    assert_eq!(first.objects.pods.len(), 1);
    assert!(
        first.errors[0].to_string().contains("held"),
        "{}",
        first.errors[0]
    );

    // Valid: both pods, nothing held.
    std::fs::write(&pods, format!("{POD_A}{POD_B}")).unwrap();
    let valid = watched.load(&dir.0).unwrap();
    assert!(valid.unknown.is_empty() && valid.errors.is_empty());
    assert!(valid.objects.held.is_empty());
    assert_eq!(valid.objects.pods.len(), 2);

    // Broken again: its last valid version stands, the rest of the file is read as it is
    // now (pod a gains a label), and the pass may converge.
    let a_labelled = POD_A.replace("namespace: prod}", "namespace: prod, labels: {x: z}}");
    std::fs::write(&pods, format!("{a_labelled}{POD_B_BROKEN}")).unwrap();
    for _ in 0..2 {
        let broken = watched.load(&dir.0).unwrap();
        assert!(broken.unknown.is_empty(), "{:?}", broken.unknown);
        assert!(broken.objects.held.is_empty());
        assert_eq!(broken.objects.pods.len(), 2, "pod b stands");
        let a = &broken.objects.pods[&("prod".to_string(), "a".to_string())];
        assert!(
            a.metadata.labels.as_ref().is_some_and(|l| l["x"] == "z"),
            "{a_labelled} {:?}",
            a.metadata
        );
        assert_eq!(broken.errors.len(), 1, "{:?}", broken.errors);
        let e = broken.errors[0].to_string();
        assert!(
            e.contains("Pod/prod/b") && e.contains("spec") && e.contains("last valid version"),
            "{e}"
        );
    }
}

#[test]
fn a_directory_of_many_files_reads_in_name_order() {
    // Files are read in parallel; the result must not depend on which worker read what: a
    // later file's version of an object wins, as when read one by one.
    let dir = Scratch(std::env::temp_dir().join(format!(
        "kube-bridge-manifestdir-order-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    for i in 0..40 {
        std::fs::write(
            dir.0.join(format!("f{i:02}.yaml")),
            format!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shared, labels: {{from: f{i:02}}}}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: ns-{i}}}\n"
            ),
        )
        .unwrap();
    }
    let load = ManifestDir::default().load(&dir.0).unwrap();
    assert!(load.errors.is_empty(), "{:?}", load.errors);
    assert_eq!(load.objects.namespaces.len(), 41);
    let shared = &load.objects.namespaces["shared"];
    assert_eq!(shared.metadata.labels.as_ref().unwrap()["from"], "f39");
    assert!(
        load.objects
            .origin("Namespace/shared")
            .unwrap()
            .file
            .ends_with("f39.yaml")
    );
}
