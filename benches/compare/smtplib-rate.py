"""Python smtplib's messages per second to a sink: smtplib-rate.py HOST PORT COUNT SIZE reuse|new"""
import smtplib, sys, time

host, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
mode = sys.argv[5] if len(sys.argv) > 5 else "reuse"
body = ("The quick brown fox jumps over the lazy dog. " * (size // 45 + 1))[:size]
msg = ("From: a@example.test\r\nTo: b@example.test\r\nSubject: bench\r\n\r\n" + body + "\r\n").encode()
start = time.perf_counter()
if mode == "reuse":
    s = smtplib.SMTP(host, port)
    for _ in range(count):
        s.sendmail("a@example.test", ["b@example.test"], msg)
    s.quit()
else:
    for _ in range(count):
        s = smtplib.SMTP(host, port)
        s.sendmail("a@example.test", ["b@example.test"], msg)
        s.quit()
secs = time.perf_counter() - start
print(f"{count} {secs:.3f} {count / secs:.0f}")
