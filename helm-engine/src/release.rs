//! Helm v3 release records: the JSON document Helm stores, its status lifecycle, hooks, and the
//! `base64(gzip(json))` encoding of a `helm.sh/release.v1` Secret's `data.release`.
