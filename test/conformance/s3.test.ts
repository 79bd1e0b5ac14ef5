import { describeS3Conformance, swiftS3Bucket } from '../helpers/swift-s3';

// The S3 driver against a real S3 implementation: OpenStack Swift's s3api, started on 127.0.0.1
// by test/services/swift (installed from Debian's packages on first use). A fresh bucket and a
// random rootdirectory per run.
describeS3Conformance('s3 on Swift s3api', (context) => swiftS3Bucket(context, 'conformance'));
