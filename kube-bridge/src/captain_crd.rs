//! The `app.alauda.io` custom resources of Captain: `v1` HelmRequest and `v1beta1` ChartRepo.
