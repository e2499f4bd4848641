"""A minimal webhook receiver for benchmarks: HTTP/1.1 keep-alive, answers every request 204,
counts them, and writes the count to COUNT_FILE each time it changes by 100 and on exit."""
import asyncio, signal, sys

port, count_file = int(sys.argv[1]), sys.argv[2]
count = 0

def save():
    with open(count_file, "w") as f:
        f.write(str(count))

async def handle(reader, writer):
    global count
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            count += 1
            if count % 100 == 0:
                save()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass
    writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    save()

save()
asyncio.run(main())
