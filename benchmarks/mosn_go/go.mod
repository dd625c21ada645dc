module protodsl.dev/benchmarks/mosngo

go 1.21

require mosn.io/mosn v1.6.1
