#!/usr/bin/env python3
"""Posts the upload mix of issue 23 to a running `dbtel serve` and prints its peak RSS.

Usage: serve_upload_mix.py PID PORT UPLOADS [LOGS_PER_UPLOAD]

Each upload carries LOGS_PER_UPLOAD (default 1,200) frontend logs, each with a distinct
4 KB session id and a distinct 4 KB error name. After the uploads, GET /summary is asked
once; the peak resident memory (VmHWM of /proc/PID/status) is printed then.
"""
import http.client
import json
import sys


def vm_hwm_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    pid, port, uploads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    per_upload = int(sys.argv[4]) if len(sys.argv) > 4 else 1200
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    pad = "x" * 4090
    for upload in range(uploads):
        logs = []
        for i in range(per_upload):
            n = upload * per_upload + i
            logs.append(json.dumps({
                "frontend_log_event_id": f"e{n}",
                "context": {"client_context": {"timestamp_millis": 1764160000000 + n}},
                "entry": {"sql_driver_log": {
                    "session_id": f"{n:06d}{pad}",
                    "sql_statement_id": f"st{n}",
                    "operation_latency_ms": 5,
                    "error_info": {"error_name": f"{n:06d}{pad}"},
                }},
            }))
        body = json.dumps({"uploadTime": 1, "items": [], "protoLogs": logs})
        connection.request("POST", "/telemetry-ext", body, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            sys.exit(f"upload {upload}: {answer.status}")
    connection.request("GET", "/summary")
    summary = json.loads(connection.getresponse().read())
    print(json.dumps({
        "uploads": uploads,
        "logs": uploads * per_upload,
        "events_on_page": summary["events"],
        "folded": summary.get("folded"),
        "rss_peak_mib": round(vm_hwm_mib(pid), 1),
    }))


if __name__ == "__main__":
    main()
