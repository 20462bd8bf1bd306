//! Helm v3 release storage in Secrets of type `helm.sh/release.v1`.
