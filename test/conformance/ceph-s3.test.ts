import { cephS3Bucket } from '../helpers/ceph';
import { describeS3Conformance } from '../helpers/swift-s3';

// The S3 driver against Ceph RGW (radosgw's S3 API), on a single-node cluster started on
// 127.0.0.1 by test/services/ceph (Debian's packages). A fresh bucket and a random rootdirectory per run.
describeS3Conformance('s3 on Ceph RGW', (context) => cephS3Bucket(context, 'conformance'));
