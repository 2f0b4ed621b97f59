package qn

import (
	"math"
	"reflect"
)

// Method is a direction rule with an update.
type Method struct {
	Rule   Rule
	Update Update
}

func (m Method) String() string { return m.Rule.String() + " " + m.Update.String() }

// GridRun is one run of Grid.
type GridRun struct {
	N       int
	Kappa   float64
	Seed    uint64
	Method  Method
	Q       *Quadratic
	S       Settings
	Records []Record
	Report  Report
}

// Grid runs every method on Generate(n, μ, κμ, Spectrum(seed mod 3), seed) for seed = 1, …,
// seeds, n in dims and κ in kappas, with μ = 2^{(seed mod 5) − 2} so that the scale varies too,
// for iters steps or until λ_k ≤ Floor·λ_0 (directions seeded by seed), in parallel, and checks
// each run (Check).
func Grid(seeds int, dims []int, kappas []float64, methods []Method, iters int) ([]GridRun, error) {
	var runs []GridRun
	var cases []Case
	for s := 1; s <= seeds; s++ {
		seed := uint64(s)
		mu := math.Ldexp(1, s%5-2)
		for _, n := range dims {
			for _, kappa := range kappas {
				q, err := Generate(n, mu, kappa*mu, Spectrum(s%3), seed)
				if err != nil {
					return nil, err
				}
				for _, m := range methods {
					st := Settings{Rule: m.Rule, Update: m.Update, Iters: iters, Stop: Floor, Seed: seed}
					runs = append(runs, GridRun{N: n, Kappa: kappa, Seed: seed, Method: m, Q: q, S: st})
					cases = append(cases, Case{q, st})
				}
			}
		}
	}
	recs, err := RunAll(cases)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		runs[i].Records = recs[i]
		runs[i].Report = Check(runs[i].Q, runs[i].S, recs[i])
	}
	return runs, nil
}

// Worst returns the field-wise maximum of the reports' float fields (NaN where every report
// has NaN) and the minimum of their step counts.
func Worst(reps ...Report) Report {
	var w Report
	wv := reflect.ValueOf(&w).Elem()
	for i := range wv.NumField() {
		switch f := wv.Field(i); f.Kind() {
		case reflect.Float64:
			f.SetFloat(math.NaN())
		case reflect.Int:
			f.SetInt(math.MaxInt)
		}
	}
	for _, r := range reps {
		rv := reflect.ValueOf(r)
		for i := range wv.NumField() {
			f, v := wv.Field(i), rv.Field(i)
			switch f.Kind() {
			case reflect.Float64:
				if x := v.Float(); !math.IsNaN(x) && (math.IsNaN(f.Float()) || x > f.Float()) {
					f.SetFloat(x)
				}
			case reflect.Int:
				f.SetInt(min(f.Int(), v.Int()))
			}
		}
	}
	return w
}

// WorstByMethod returns, for each method among runs, the Worst of its runs' reports.
func WorstByMethod(runs []GridRun) map[Method]Report {
	reps := map[Method][]Report{}
	for _, r := range runs {
		reps[r.Method] = append(reps[r.Method], r.Report)
	}
	worst := make(map[Method]Report, len(reps))
	for m, rs := range reps {
		worst[m] = Worst(rs...)
	}
	return worst
}
