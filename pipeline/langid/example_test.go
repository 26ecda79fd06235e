package langid_test

import (
	"fmt"

	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/pipeline/langid"
)

func ExampleModel_Predict() {
	m, err := langid.Default()
	if err != nil {
		panic(err)
	}
	for _, p := range m.Predict("Le vif renard brun saute par-dessus le chien paresseux.", 1, 0) {
		fmt.Println(p.Label, p.Prob > 0.5)
	}
	// Output: fr true
}

func ExampleFilter() {
	f, err := langid.NewFilter(langid.Options{}) // English, P(en) > 0.65
	if err != nil {
		panic(err)
	}
	doc := &pipeline.Document{Text: "Der schnelle braune Fuchs springt über den faulen Hund."}
	keep, reason := f.Filter(doc)
	fmt.Println(keep, reason, doc.Language)
	// Output: false low_en_score de
}
