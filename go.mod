module github.com/mastoscale/mastoscale

go 1.26.0
