// A local single-node Ceph cluster with a RADOS Gateway (S3 and Swift APIs) for tests, driven by
// ceph.sh beside this file (started and stopped through ../script-service).
import { ScriptService } from '../script-service';

export interface CephService {
  /** radosgw: the S3 endpoint (path-style), e.g. http://127.0.0.1:7480 */
  endpoint: string;
  /** Swift v1 auth of radosgw, e.g. http://127.0.0.1:7480/auth/1.0 (storage URL .../swift/v1) */
  authUrl: string;
  /** The Swift subuser and its key. */
  user: 'tester:swift';
  key: 'stowage-swift-key';
  /** S3 credentials of the same user. */
  accessKeyId: 'stowage-tester';
  secretAccessKey: 'stowage-tester-secret';
  /** radosgw takes any region in a signature. */
  region: 'us-east-1';
  /** True when this process started the cluster (and will stop it when it exits). */
  startedHere: boolean;
}

// A start that fails after starting some daemons stops them (as the script's own start would not).
const service = new ScriptService({ name: 'ceph', title: 'the local Ceph cluster', stopAfterFailedStart: true });

/**
 * Starts the local Ceph cluster once per process (later calls share the result). When this call
 * started it, it is stopped, by PID, when the process exits; a cluster that was already running
 * (started from the same state dir) is left alone.
 */
export async function startCeph(): Promise<CephService> {
  const startedHere = await service.start();
  const endpoint = `http://127.0.0.1:${process.env.STOWAGE_CEPH_PORT || '7480'}`;
  return {
    endpoint,
    authUrl: `${endpoint}/auth/1.0`,
    user: 'tester:swift',
    key: 'stowage-swift-key',
    accessKeyId: 'stowage-tester',
    secretAccessKey: 'stowage-tester-secret',
    region: 'us-east-1',
    startedHere,
  };
}
