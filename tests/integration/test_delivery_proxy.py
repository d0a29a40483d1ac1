"""test_delivery_proxy.py - webhooks honour the proxy environment as libcurl
reads it (http_proxy, no_proxy): with http_proxy set, the request goes to
the proxy with the receiver's absolute URL; with no_proxy naming the host,
or with no proxy variable at all, it goes straight to the receiver. tocsin
reads the variables once at start; the outcome must be the same as
libcurl's own lookup on every request."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from receiver import (HttpReceiver, RULE_YAML, T0, check,  # noqa
                      stream, write)

PROXY_VARS = ("http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
              "all_proxy", "NO_PROXY", "no_proxy")

target = HttpReceiver().start()
proxy = HttpReceiver().start()
write("cfg.yaml", """
notifiers:
  hook:
    type: webhook
    url: %s
defaults:
  notify: [hook]
%s""" % (target.url("/hook"), RULE_YAML))


def deliver(tag, env):
    """One firing alert delivered by eval --notify with env as the only
    proxy variables; returns (requests at the target, at the proxy)."""
    stream([("svc-" + tag, 900, T0)], "s-%s.jsonl" % tag)
    e = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    e.update(env)
    before_t, before_p = len(target.on("/hook")), len(proxy.requests)
    p = subprocess.run([os.environ["TOCSIN"], "eval", "--notify", "-c",
                        "cfg.yaml", "--store", "store-%s.db" % tag,
                        "s-%s.jsonl" % tag],
                       capture_output=True, text=True, timeout=120, env=e)
    print(tag, p.returncode, p.stderr, flush=True)
    check(p.returncode == 0, "%s: eval --notify exits 0" % tag)
    return (target.on("/hook")[before_t:], proxy.requests[before_p:])


direct, via = deliver("none", {})
check(len(direct) == 1 and not via, "no proxy variable: straight to the receiver")

proxy_url = "http://127.0.0.1:%d" % proxy.port
direct, via = deliver("proxied", {"http_proxy": proxy_url})
check(not direct and len(via) == 1, "http_proxy: the request goes to the proxy")
check(via and via[0]["path"] == target.url("/hook"),
      "the proxy is asked for the receiver's absolute URL")
check(via and via[0]["method"] == "POST" and '"alerts"' in via[0]["body"],
      "the proxy gets the POST and its payload")

direct, via = deliver("bypass", {"http_proxy": proxy_url,
                                 "no_proxy": "127.0.0.1"})
check(len(direct) == 1 and not via, "no_proxy naming the host: straight there")

target.stop()
proxy.stop()
print("proxy: all checks passed")
