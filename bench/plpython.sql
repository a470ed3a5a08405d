-- bench/plpython.sql: what users write instead of the extension, for the
-- benchmark's comparison (d): the same DeletePersonFromGroup call in
-- PL/Python with the standard library only: the same JSON body, signed with
-- TC3-HMAC-SHA256 (hashlib/hmac), POSTed over one kept-alive HTTPS
-- connection (http.client, kept in GD), the JSON answer parsed.  Settings
-- come from the iai.* GUCs, so both talk to the same endpoint the same way.

CREATE EXTENSION IF NOT EXISTS plpython3u;

-- Defines GD['tc3'] (the signer) and GD['cfg'] once per session, and
-- imports every module the functions below use (later imports are lookups).
CREATE FUNCTION bench_py_init() RETURNS void LANGUAGE plpython3u AS $$
import hashlib, hmac, http.client, json, ssl, time
from urllib.parse import urlsplit

CONTENT_TYPE = 'application/json; charset=utf-8'

def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()

def tc3(secret_id, secret_key, host, ts, payload):
    """Authorization header for a POST / of payload (bytes), signed as of ts."""
    date = time.strftime('%Y-%m-%d', time.gmtime(ts))
    scope = date + '/iai/tc3_request'
    canonical = ('POST\n/\n\ncontent-type:%s\nhost:%s\n\ncontent-type;host\n%s'
                 % (CONTENT_TYPE, host, sha256_hex(payload)))
    to_sign = 'TC3-HMAC-SHA256\n%d\n%s\n%s' % (ts, scope, sha256_hex(canonical.encode()))
    key = hmac.new(('TC3' + secret_key).encode(), date.encode(), hashlib.sha256).digest()
    key = hmac.new(key, b'iai', hashlib.sha256).digest()
    key = hmac.new(key, b'tc3_request', hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return ('TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host, Signature=%s'
            % (secret_id, scope, signature))

def setting(name):
    return plpy.execute("SELECT current_setting('%s') AS v" % name)[0]['v']

url = urlsplit(setting('iai.endpoint'))
GD['tc3'] = tc3
GD['cfg'] = {'content_type': CONTENT_TYPE, 'host': url.netloc,
             'hostname': url.hostname, 'port': url.port or 443,
             'ca_file': setting('iai.ca_file') or None,
             'secret_id': setting('iai.secret_id'), 'secret_key': setting('iai.secret_key')}
$$;

-- The signer alone, on explicit inputs: checked against the C signer and a
-- known-answer vector before anything is timed.
CREATE FUNCTION bench_py_tc3(secret_id text, secret_key text, host text, ts bigint, payload text)
RETURNS text LANGUAGE plpython3u AS $$
if 'tc3' not in GD:
    plpy.execute('SELECT bench_py_init()')
return GD['tc3'](secret_id, secret_key, host, ts, payload.encode())
$$;

-- The signing part of bench_py_delete alone (no HTTP), for reference.
CREATE FUNCTION bench_py_sign(person text, grp text) RETURNS text LANGUAGE plpython3u AS $$
import json, time
if 'tc3' not in GD:
    plpy.execute('SELECT bench_py_init()')
cfg = GD['cfg']
body = json.dumps({'GroupId': grp, 'PersonId': person}).encode()
return GD['tc3'](cfg['secret_id'], cfg['secret_key'], cfg['host'], int(time.time()), body)
$$;

-- The call: returns the RequestId, raises on an API or HTTP error.
CREATE FUNCTION bench_py_delete(person text, grp text) RETURNS text LANGUAGE plpython3u AS $$
import http.client, json, ssl, time
if 'tc3' not in GD:
    plpy.execute('SELECT bench_py_init()')
cfg = GD['cfg']
if 'conn' not in GD:
    context = ssl.create_default_context(cafile=cfg['ca_file'])
    GD['conn'] = http.client.HTTPSConnection(cfg['hostname'], cfg['port'],
                                             context=context, timeout=10)
conn = GD['conn']

# json.dumps of these two keys gives the bytes jsonb gives the extension
body = json.dumps({'GroupId': grp, 'PersonId': person}).encode()
ts = int(time.time())
headers = {'Host': cfg['host'], 'Content-Type': cfg['content_type'],
           'X-TC-Action': 'DeletePersonFromGroup', 'X-TC-Version': '2018-03-01',
           'X-TC-Timestamp': str(ts),
           'Authorization': GD['tc3'](cfg['secret_id'], cfg['secret_key'], cfg['host'], ts, body)}
for attempt in (1, 2):
    try:
        conn.request('POST', '/', body, headers)
        resp = conn.getresponse()
        answer = resp.read()
        break
    except (http.client.HTTPException, OSError):
        # the kept connection was dropped: close it, the next request reconnects
        conn.close()
        if attempt == 2:
            raise
if resp.status != 200:
    plpy.error('HTTP %d' % resp.status)
response = json.loads(answer)['Response']
if 'Error' in response:
    plpy.error('%s: %s' % (response['Error']['Code'], response['Error']['Message']),
               detail='RequestId: %s' % response.get('RequestId'))
return response['RequestId']
$$;
