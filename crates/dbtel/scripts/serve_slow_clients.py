#!/usr/bin/env python3
"""Times one real upload to a running `dbtel serve` while N other clients hold connections.

Usage: serve_slow_clients.py PORT N slow|idle

slow: each client sends an upload's headers (Content-Length: 100000) and one byte of body,
then nothing; idle: each client connects and sends nothing. After a second, one small upload
is posted and the time to its answer printed.
"""
import socket, sys, time, json, http.client
port, n, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    if mode == "slow":
        s.sendall(f"POST /telemetry-ext HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n ".encode())
    socks.append(s)
time.sleep(1.0)
log = json.dumps({"frontend_log_event_id": "real", "context": {"client_context": {"timestamp_millis": 1}}, "entry": {"sql_driver_log": {"operation_latency_ms": 1}}})
body = json.dumps({"uploadTime": 1, "items": [], "protoLogs": [log]})
t = time.monotonic()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
c.request("POST", "/telemetry-ext", body, {"Content-Type": "application/json"})
r = c.getresponse(); r.read()
print(f"{n} {mode}: status {r.status} in {time.monotonic()-t:.3f} s")
