"""Helpers for swift.sh, run with the system /usr/bin/python3 (the one that can import swift).

  launcher.py rings ETC_DIR OBJECT_PORT CONTAINER_PORT ACCOUNT_PORT
      Build the rings: account and container with one replica on "d1"; objects with two
      replicas on "d1" and "d2" (see build_rings).
  launcher.py serve ETC_DIR CONF_FILE SECTION
      Run one Swift WSGI server in the foreground, reading ETC_DIR/swift.conf instead of
      /etc/swift/swift.conf and logging to stderr (swift.sh sends stderr to a log file).
  launcher.py probe URL [HEADER ...]
      GET URL (headers as 'Name: value'); print the response headers, exit 0 on 2xx.
"""

import logging
import os
import sys


def build_rings(etc_dir, object_port, container_port, account_port):
    # The same API swift-ring-builder drives; one process builds all three rings in ~0.1 s.
    from swift.common.ring import RingBuilder

    # Objects get two replicas on two device dirs of the same server. With one, a GET that races
    # an overwrite of the same object can find the old file already cleaned up and answer 404
    # (seen as NoSuchKey in the conformance suite's read-during-rewrite test); with two, the
    # proxy asks the other replica. Accounts and containers are not overwritten that way.
    for name, port, devices in (('object', object_port, ('d1', 'd2')), ('container', container_port, ('d1',)), ('account', account_port, ('d1',))):
        builder = RingBuilder(8, len(devices), 1)  # part power 8, a replica per device, min_part_hours 1
        for dev_id, device in enumerate(devices):
            builder.add_dev({
                'id': dev_id, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': int(port),
                'replication_ip': '127.0.0.1', 'replication_port': int(port),
                'device': device, 'weight': 100.0, 'meta': '',
            })
        builder.rebalance()
        builder.save(os.path.join(etc_dir, name + '.builder'))
        builder.get_ring().save(os.path.join(etc_dir, name + '.ring.gz'))


class _DiscardSyslog(logging.NullHandler):
    """Stands in for Swift's syslog handler: with no /dev/log Swift would send UDP to localhost:514."""

    def __init__(self, *args, **kwargs):
        super().__init__()


def serve(etc_dir, conf_file, section):
    from swift.common import utils

    # Must happen before swift.common.constraints / storage_policy are imported: both read
    # utils.SWIFT_CONF_FILE at import time.
    utils.SWIFT_CONF_FILE = os.path.join(etc_dir, 'swift.conf')
    if hasattr(utils, 'ThreadSafeSysLogHandler'):
        utils.ThreadSafeSysLogHandler = _DiscardSyslog

    from swift.common.wsgi import run_wsgi

    # verbose=True adds a console (stderr) handler; Swift then adds one to every later logger too.
    return run_wsgi(conf_file, section, verbose=True)


def probe(url, headers):
    import urllib.request

    request = urllib.request.Request(url)
    for header in headers:
        name, _, value = header.partition(':')
        request.add_header(name.strip(), value.strip())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            for name, value in response.getheaders():
                print('%s: %s' % (name, value))
            return 0 if 200 <= response.status < 300 else 1
    except Exception as err:  # connection refused, HTTP error, timeout: all mean "not ready"
        print('probe %s: %s' % (url, err), file=sys.stderr)
        return 1


def main(argv):
    if len(argv) >= 6 and argv[1] == 'rings':
        build_rings(*argv[2:6])
        return 0
    if len(argv) == 5 and argv[1] == 'serve':
        return serve(*argv[2:5])
    if len(argv) >= 3 and argv[1] == 'probe':
        return probe(argv[2], argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
