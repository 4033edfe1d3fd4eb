package plan

// The labels that mark an object as a secretsync instance's target.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelInstance  = "secretsync.io/instance"
	ManagedByValue = "secretsync"
	// AnnotationExternalSecret names the ExternalSecret that wrote it.
	AnnotationExternalSecret = "secretsync.io/external-secret"
	// AnnotationSource names the file in Git it was rendered from.
	AnnotationSource = "secretsync.io/source"
)

// Owns is the ownership rule, the one place it is written: an object is
// instance's target when it carries both labels. A ConfigMap (kind not "")
// must also name its ExternalSecret: the inventory's own ConfigMaps carry
// the instance labels too, and must never be taken for a target. run checks
// it before every takeover and delete; explain says why it fails.
func Owns(instance, kind string, labels, annotations map[string]string) bool {
	if labels[LabelManagedBy] != ManagedByValue || labels[LabelInstance] != instance {
		return false
	}
	return kind == "" || annotations[AnnotationExternalSecret] != ""
}
