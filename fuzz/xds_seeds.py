#!/usr/bin/env python3
"""Writes the seeds of the xDS fuzz targets (fuzz/seeds/xds_*) from real resources: the
test control plane's echo set and invalid resources, the Istio config dumps, and the
interop bootstraps. Run once, from anywhere, with the peers' venv (xds-protos):

    peers/venv/bin/python fuzz/xds_seeds.py [SHARED]   # SHARED: the shared/ checkout,
                                                       # default ../shared beside the repo
xds_resources seeds are binary: the first byte picks the type (XdsType::ALL order), the
rest is the protobuf resource; pairs set the high nibble to 1 + the second one's type and
put a little-endian u16 length before the first resource (see the target's doc comment).
"""
import copy, json, os, shutil, struct, sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, '..', 'shared'))
os.environ.setdefault('ISTIO_DUMPS', os.path.join(SHARED, 'testdata', 'istio'))
sys.path.insert(0, os.path.join(REPO, 'crates', 'mosn', 'tests', 'peers', 'xds'))
import resources as R  # noqa: E402
import xdslib as X  # noqa: E402

TYPES = [X.CDS, X.EDS, X.LDS, X.RDS, X.SECRET]  # XdsType::ALL
SHORT = dict(zip(TYPES, ('cds', 'eds', 'lds', 'rds', 'sds')))
SEEDS = os.path.join(REPO, 'fuzz', 'seeds')


def out(target, name, data):
    os.makedirs(os.path.join(SEEDS, target), exist_ok=True)
    with open(os.path.join(SEEDS, target, name), 'wb') as f:
        f.write(data)


def binary(name, *objs):
    """One resource, or a pair, as an xds_resources input."""
    (a, *rest) = [(TYPES.index(o['@type']), X.to_any(o).value) for o in objs]
    if not rest:
        data = bytes([a[0]]) + a[1]
    else:
        (b,) = rest
        data = bytes([a[0] | (b[0] + 1) << 4]) + struct.pack('<H', len(a[1])) + a[1] + b[1]
    out('xds_resources', name + '.bin', data)


def text(name, obj):
    """One resource as Envoy JSON (no '@type': the target reads it as each type)."""
    obj = {k: v for k, v in obj.items() if k != '@type'}
    out('xds_convert_json', name + '.json', json.dumps(obj, indent=1).encode())


def main():
    for t in ('xds_resources', 'xds_bootstrap', 'xds_convert_json'):
        shutil.rmtree(os.path.join(SEEDS, t), ignore_errors=True)
    echo = R.echo_set()
    api, ingress, route, cluster, cla = echo
    for o, n in zip(echo, ('lds-api', 'lds-ingress', 'rds', 'cds-eds', 'eds')):
        binary('echo-' + n, o)
        text('echo-' + n, o)
    binary('echo-pair-cds-eds', cluster, cla)
    binary('echo-pair-lds-rds', ingress, route)
    for t in TYPES[:4]:
        bad = R.bad_resource(t)
        binary('bad-' + SHORT[t], bad)
        text('bad-' + SHORT[t], bad)

    istio, _ = R.istio_set(fill=True)
    raw = copy.deepcopy(istio)
    for o in istio:
        R.sanitize(o, '', [])
    named = {(o['@type'], X.name_of(o)): o for o in istio}
    # One of each kind: a TCP proxy, HTTP over RDS, the virtual and internal listeners, one
    # cluster of each discovery type.
    picks = [
        (X.LDS, '10.96.0.1_443'), (X.LDS, '0.0.0.0_9080'), (X.LDS, 'virtualOutbound'),
        (X.LDS, 'virtualInbound'), (X.LDS, 'connect_originate'), (X.RDS, '9080'),
        (X.CDS, 'outbound|9080||reviews.default.svc.cluster.local'), (X.CDS, 'BlackHoleCluster'),
        (X.CDS, 'PassthroughCluster'), (X.CDS, 'main_internal'),
        (X.EDS, 'outbound|9080||reviews.default.svc.cluster.local')]
    for t, name in picks:
        o = named[(t, name)]
        slug = SHORT[t] + '-' + ''.join(c if c.isalnum() else '_' for c in name)
        binary('istio-' + slug, o)
        text('istio-' + slug, o)
    binary('istio-pair-lds-rds', named[(X.LDS, '0.0.0.0_9080')], named[(X.RDS, '9080')])
    listener = next(o for o in raw if o['@type'] == X.LDS and X.name_of(o) == '0.0.0.0_9080')
    binary('istio-lds-unsanitized', listener)
    eds = named[(X.CDS, 'outbound|9080|v1|productpage.default.svc.cluster.local')]
    out('xds_convert_json', 'istio-transport-socket.json',
        json.dumps(eds['transport_socket_matches'][0]['transport_socket'], indent=1).encode())
    binary('istio-pair-cds-eds', eds, named[(X.EDS, eds['name'])])

    with open(os.path.join(SHARED, 'testdata', 'istio', '06-sidecar-sds-secrets-configdump.json')) as f:
        secrets = [s['secret'] for s in json.load(f)['configs'][0]['dynamic_active_secrets']]
    for s in secrets:
        binary('istio-sds-' + s['name'], s)
        text('istio-sds-' + s['name'], s)
    binary('istio-pair-cds-secret', eds, secrets[0])

    os.makedirs(os.path.join(SEEDS, 'xds_bootstrap'))
    for name in ('envoy-sotw.yaml', 'envoy-delta.yaml', 'envoy-sds.yaml', 'envoy-istio.yaml'):
        shutil.copy(os.path.join(SHARED, 'interop', 'xds', name), os.path.join(SEEDS, 'xds_bootstrap', name))
    shutil.copy(os.path.join(SHARED, 'testdata', 'istio', '08-default-bootstrap-rendered.json'),
                os.path.join(SEEDS, 'xds_bootstrap', 'istio-default-bootstrap-rendered.json'))


if __name__ == '__main__':
    main()
