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
