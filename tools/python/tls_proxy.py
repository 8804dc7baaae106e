"""TLS in front of the emulator, for `make bench`: the functions reach it over HTTPS the way
they reach DynamoDB, so a cold start pays (or, prewarmed, does not pay) a TLS handshake.

At start it makes a throwaway CA and a certificate for `localhost` / 127.0.0.1 signed by it
(ECDSA P-256, valid one day) and writes the CA to --ca-out. The functions trust the CA
through the standard certificate environment (SSL_CERT_FILE), as they would any CA. It
prints `ready` once it listens, then `connection` for every connection whose TLS handshake completes.

It is an HTTP/1.1 proxy, not a TCP pipe: the emulator (moto's werkzeug server) answers every
request with `Connection: close`, so through a pipe every call would open a new connection
and TLS handshake, which DynamoDB's kept-alive connections do not. The proxy keeps the
client's TLS connection open across requests, as DynamoDB does, and sends each request to
--upstream over a fresh loopback TCP connection.

    python tools/python/tls_proxy.py --port 4567 --upstream 127.0.0.1:4566 --ca-out ca.pem
"""

import argparse
import asyncio
import datetime
import ipaddress
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_certificates(ca_out):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "credentials-api bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    with open(ca_out, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    chain = tempfile.NamedTemporaryFile(suffix=".pem", delete=False)
    chain.write(cert.public_bytes(serialization.Encoding.PEM))
    chain.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    chain.close()
    return chain.name


def split_head(head):
    """The first line and the headers (lower-cased names) of an HTTP/1.1 message head."""
    first, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return first, headers


def join_head(first, headers):
    return ("\r\n".join([first] + [f"{n}: {v}" for n, v in headers]) + "\r\n\r\n").encode("latin-1")


def value(headers, name):
    return next((v for n, v in headers if n == name), None)


async def forward(upstream, method, first, headers, body):
    """Sends one request upstream (Connection: close) and returns its answer's head and body."""
    host, port = upstream
    reader, writer = await asyncio.open_connection(host, port)
    try:
        kept = [(n, v) for n, v in headers if n not in ("connection", "keep-alive")]
        writer.write(join_head(first, kept + [("connection", "close")]) + body)
        await writer.drain()
        status_line, answer_headers = split_head(await reader.readuntil(b"\r\n\r\n"))
        status = int(status_line.split()[1])
        length = value(answer_headers, "content-length")
        if method == "HEAD" or status in (204, 304) or status < 200:
            answer = b""
        elif length is not None:
            answer = await reader.readexactly(int(length))
        else:
            # Chunked or delimited by the close: read to the end. Chunked bytes pass as
            # they are; a close-delimited body gets a length, the client's connection stays.
            answer = await reader.read()
            if value(answer_headers, "transfer-encoding") is None:
                answer_headers.append(("content-length", str(len(answer))))
        answer_headers = [(n, v) for n, v in answer_headers if n not in ("connection", "keep-alive")]
        return status_line, answer_headers, answer
    finally:
        writer.close()


async def serve(upstream, client_reader, client_writer):
    """Answers the client's requests in turn over its one connection, until it closes."""
    try:
        while True:
            try:
                head = await client_reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                return
            first, headers = split_head(head)
            if value(headers, "transfer-encoding") is not None:
                # The SDK sends DynamoDB and KMS requests with a length; nothing else comes here.
                client_writer.write(b"HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                return
            if (value(headers, "expect") or "").lower() == "100-continue":
                # Answered here: the client holds its body back until told to send it.
                client_writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                headers = [(n, v) for n, v in headers if n != "expect"]
            body = await client_reader.readexactly(int(value(headers, "content-length") or 0))
            status_line, answer_headers, answer = await forward(upstream, first.split()[0], first, headers, body)
            closing = (value(headers, "connection") or "").lower() == "close"
            connection = "close" if closing else "keep-alive"
            client_writer.write(join_head(status_line, answer_headers + [("connection", connection)]) + answer)
            await client_writer.drain()
            if closing:
                return
    except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, OSError):
        return
    finally:
        client_writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--ca-out", required=True)
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(make_certificates(args.ca_out))

    async def handle(client_reader, client_writer):
        # One line per accepted connection: a test counts the connections a function opened.
        print("connection", flush=True)
        await serve((host, int(port)), client_reader, client_writer)

    server = await asyncio.start_server(handle, "127.0.0.1", args.port, ssl=context)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
